// @ts-check
// The parsed expression as chips: one per term the server understood, each with a weight slider
// (−1…+1) and a typed value (any finite number). Changing either calls onWeight; the view re-queries.

import { Thumb } from "./components.js";
import { withValue } from "./dom.js";
import { formatWeight, pointIdOf, termLabel, uploadIndexOf } from "./expr.js";
import { html } from "./html.js";

/** @typedef {import("./api.js").Term} Term */
/** @typedef {import("./components.js").Upload} Upload */

/** @type {Record<string, string>} */
const KIND_NAMES = { text: "text", ensemble: "prompts", point: "image", upload: "upload", concept: "concept",
  axis: "axis" };

/** @param {{term: Term, collection: string, uploads: Upload[]}} props */
function ChipVisual({ term, collection, uploads }) {
  const id = pointIdOf(term);
  if (id !== null && collection) {
    return html`<${Thumb} collection=${collection} id=${id} size=${64} alt=${`point ${id}`} className="chip-thumb" />`;
  }
  const u = uploadIndexOf(term);
  if (u !== null && uploads[u]) return html`<img class="thumb chip-thumb" src=${uploads[u].url} alt=${uploads[u].name} />`;
  return null;
}

/** @param {{terms: Term[], collection: string, uploads: Upload[], onWeight: (i: number, w: number) => void,
 *   onRemove: (i: number) => void}} props */
export function Chips({ terms, collection, uploads, onWeight, onRemove }) {
  if (!terms.length) return null;
  return html`<ul class="chips" aria-label="Terms of the expression">
    ${terms.map((t, i) => {
      const label = termLabel(t);
      const kind = t.text.startsWith("text(") ? "alt-text" : KIND_NAMES[t.kind] || t.kind;
      const w = Number(t.weight);
      const id = `w-${i}`;
      return html`<li key=${t.text} class=${`chip chip-${t.kind}${w < 0 ? " negative" : ""}${w === 0 ? " off" : ""}`}
        data-term=${t.text} data-kind=${t.kind} data-weight=${w}>
        <div class="chip-head">
          <span class="chip-kind">${kind}</span>
          <${ChipVisual} term=${t} collection=${collection} uploads=${uploads} />
          <span class="chip-label" title=${t.text}>${label}</span>
          <button type="button" class="icon" aria-label=${`Remove term ${label}`} onClick=${() => onRemove(i)}>×</button>
        </div>
        <div class="chip-weight">
          <input id=${id} type="range" min="-1" max="1" step="0.05" value=${Math.max(-1, Math.min(1, w))}
            aria-label=${`Weight of ${label}`} aria-valuetext=${`${w < 0 ? "minus " : ""}${formatWeight(w)}`}
            onInput=${withValue((v) => onWeight(i, Number(v)))} />
          <input type="number" class="chip-num" step="0.05" value=${Number(w.toFixed(3))}
            aria-label=${`Weight of ${label}, typed`}
            onChange=${withValue((typed) => {
              const v = Number(typed);
              if (typed !== "" && Number.isFinite(v)) onWeight(i, v);
            })} />
        </div>
      </li>`;
    })}
  </ul>`;
}
