// @ts-check
// Weight sweep: the top k of `expression + w*(term)` for a row of weights, side by side, from one
// request. Each column is one weight; a card marks where a result entered (it was not in the column to
// its left) and a result that leaves after this column is marked as leaving. Hovering a card lights the
// same item in every column, so its path through the weights can be followed.

import { useEffect, useState } from "preact/hooks";
import { api } from "../api.js";
import { Empty, ErrorNote, Thumb } from "../components.js";
import { prevent, withValue } from "../dom.js";
import { altText } from "../grid.js";
import { html } from "../html.js";
import { useRequest } from "../request.js";
import { setRoute } from "../state.js";

/**
 * @typedef {{id: string, score: number, payload: import("../api.js").Payload}} SweepHit
 * @typedef {{weight: number, hits: SweepHit[], norm: number, error: string | null}} SweepStep
 * @typedef {{steps: SweepStep[], query: {expression: string}, term: {expression: string}}} SweepResponse
 */

const DEFAULT_WEIGHTS = "0, -0.1, -0.2, -0.3, -0.5, -0.7, -1";

/** "0, -0.1, …" → numbers; null when any entry is not a number. @param {string} text */
export function parseWeights(text) {
  const parts = text.split(/[,\s]+/).filter(Boolean);
  const out = parts.map(Number);
  return parts.length && out.every(Number.isFinite) ? out : null;
}

/** For each step, which ids entered (absent one step before) and which leave (absent one step after).
 * @param {SweepStep[]} steps */
export function changes(steps) {
  return steps.map((s, i) => {
    const prev = i > 0 ? new Set(steps[i - 1].hits.map((h) => h.id)) : null;
    const next = i + 1 < steps.length ? new Set(steps[i + 1].hits.map((h) => h.id)) : null;
    return {
      entered: new Set(prev ? s.hits.filter((h) => !prev.has(h.id)).map((h) => h.id) : []),
      leaving: new Set(next ? s.hits.filter((h) => !next.has(h.id)).map((h) => h.id) : []),
    };
  });
}

/** @param {import("./index.js").ViewProps} props */
export function SweepView({ route, collection }) {
  const [expr, setExpr] = useState(route.q || "");
  const [term, setTerm] = useState(route.term || "");
  const [weights, setWeights] = useState(route.weights || DEFAULT_WEIGHTS);
  const [hover, setHover] = useState("");
  const [problem, setProblem] = useState("");
  const limit = Math.min(Math.max(Number(route.limit) || 8, 1), 50);
  useEffect(() => {
    setExpr(route.q || "");
    setTerm(route.term || "");
    setWeights(route.weights || DEFAULT_WEIGHTS);
  }, [route.q, route.term, route.weights]);

  const ws = parseWeights(route.weights || DEFAULT_WEIGHTS);
  const ready = collection && route.q?.trim() && route.term?.trim() && ws;
  const { result, error, busy } = useRequest(
    ready ? JSON.stringify([collection, route.q, route.term, ws, limit]) : "",
    (signal) => api.sweep(collection, { expression: route.q, term: route.term, weights: ws, limit }, signal),
  );
  const sweep = /** @type {SweepResponse | null} */ (error ? null : result);
  const marks = sweep ? changes(sweep.steps) : [];

  const submit = prevent(() => {
    if (!parseWeights(weights)) {
      setProblem("Weights are numbers separated by commas, e.g. 0, -0.1, -0.3, -1");
      return;
    }
    setProblem("");
    setRoute({ q: expr.trim(), term: term.trim(), weights: weights.trim() });
  });
  return html`<section class="view view-sweep" aria-labelledby="sweep-title">
    <h1 id="sweep-title">Weight sweep</h1>
    <p class="lede">How much of a term is enough? Each column is the top ${limit} of${" "}
      <var>expression + w × term</var> at one weight <var>w</var>, all from one request.</p>
    <form class="sweep-form" onSubmit=${submit}>
      <label>Expression <input name="expression" class="mono" value=${expr} onInput=${withValue(setExpr)}
        placeholder='"a red shape"' required spellcheck="false" /></label>
      <label>Term <input name="term" class="mono" value=${term} onInput=${withValue(setTerm)}
        placeholder='"circle"' required spellcheck="false" /></label>
      <label>Weights <input name="weights" value=${weights} onInput=${withValue(setWeights)}
        aria-invalid=${problem ? "true" : "false"} spellcheck="false" /></label>
      <button type="submit" disabled=${busy}>${busy ? "Sweeping…" : "Sweep"}</button>
    </form>
    ${problem && html`<p class="error-note" role="alert">${problem}</p>`}
    <${ErrorNote} error=${error} />
    ${!sweep && !error && !busy && html`<${Empty}>Give an expression, a term to add and the weights to try.</${Empty}>`}
    ${sweep && html`<p class="hint">Columns: <code>${sweep.query.expression}</code> + w × <code>${sweep.term.expression}</code>.
      <span class="mark-key entered">entered</span> new at this weight ·
      <span class="mark-key leaving">leaving</span> gone at the next.</p>
    <div class="sweep" role="table" aria-label="Results at each weight">
      <div role="row" class="sweep-row">${sweep.steps.map((s, i) => html`<section role="cell" class="sweep-col"
        key=${i} data-weight=${s.weight} aria-label=${`Weight ${s.weight}`}>
        <h2>w = ${s.weight}</h2>
        ${s.error ? html`<p class="error-note">${s.error}</p>` : html`<ol class="sweep-hits">
          ${s.hits.map((h, r) => {
            const entered = marks[i].entered.has(h.id), leaving = marks[i].leaving.has(h.id);
            return html`<li key=${h.id} data-id=${h.id} data-rank=${r + 1}
              class=${`${entered ? "entered" : ""} ${leaving ? "leaving" : ""} ${hover === h.id ? "lit" : ""}`}
              data-change=${entered ? "entered" : leaving ? "leaving" : "stayed"}
              onMouseEnter=${() => setHover(h.id)} onMouseLeave=${() => setHover("")}
              title=${`${altText(h)} · score ${h.score.toFixed(3)}`}>
              <${Thumb} collection=${collection} id=${h.id} size=${96} alt=${altText(h)} />
              <span class="score">${h.score.toFixed(3)}</span></li>`;
          })}</ol>`}
      </section>`)}</div>
    </div>`}
  </section>`;
}
