// @ts-check
// Opposition: two poles side by side. The server orders the whole collection by
// sim(x,A) − sim(x,B) = x·(A − B) (one kNN on A − B) and returns both ends with exact deltas.

import { useEffect, useState } from "preact/hooks";
import { api } from "../api.js";
import { Empty, ErrorNote } from "../components.js";
import { Histogram, histogramBins } from "../charts.js";
import { prevent, withValue } from "../dom.js";
import { ResultsGrid } from "../grid.js";
import { html } from "../html.js";
import { useRequest } from "../request.js";
import { setRoute } from "../state.js";

/** @typedef {import("../api.js").PoleHit} PoleHit */

const HISTOGRAM_BINS = 40;

/** A pole as typed: a bare word or phrase becomes a text term; anything with quotes, (), @ is an expression.
 * @param {string} s */
export function poleExpression(s) {
  const t = s.trim();
  return /["()@]/.test(t) ? t : `"${t.replace(/["\\]/g, "\\$&")}"`;
}

/** @param {PoleHit} h */
const sims = (h) =>
  html`<span class="sims" title="similarity to A and to B">A ${h.sim_a.toFixed(3)} · B ${h.sim_b.toFixed(3)}</span>`;

/** @param {{side: "a" | "b", title: string, hits: PoleHit[], collection: string}} props */
function Pole({ side, title, hits, collection }) {
  // The grid ranks by `score`: here that is the pole's delta, sim(x, this pole) − sim(x, the other).
  const ranked = hits.map((h) => ({ ...h, score: h.delta }));
  return html`<section class=${`pole pole-${side}`} aria-labelledby=${`pole-${side}-title`} data-side=${side}>
    <h2 id=${`pole-${side}-title`}>${title}</h2>
    <${ResultsGrid} hits=${ranked} collection=${collection} scoreLabel="delta" extra=${sims} label=${title} />
  </section>`;
}

/** @param {import("./index.js").ViewProps} props */
export function OppositionView({ route, collection }) {
  const [a, setA] = useState(route.a || "");
  const [b, setB] = useState(route.b || "");
  const limit = Math.min(Math.max(Number(route.limit) || 12, 1), 100);

  useEffect(() => {
    setA(route.a || "");
    setB(route.b || "");
  }, [route.a, route.b]);

  const poleA = route.a?.trim() ? route.a : "";
  const poleB = route.b?.trim() ? route.b : "";
  const { result, error, busy } = useRequest(
    collection && poleA && poleB ? `${collection}\n${poleA}\n${poleB}\n${limit}` : "",
    () => api.oppositions(collection, { a: poleExpression(poleA), b: poleExpression(poleB), limit,
      histogram: HISTOGRAM_BINS }),
  );

  const submit = prevent(() => setRoute({ a: a.trim(), b: b.trim() }));
  const hist = result?.histogram ?? null;
  const bins = histogramBins(hist);
  return html`<section class="view view-opposition" aria-labelledby="opp-title">
    <h1 id="opp-title">Opposition</h1>
    <p class="lede">Order the whole collection by <var>sim(x, A) − sim(x, B)</var> and show both ends: the items
      most like A rather than B, and the items most like B rather than A.</p>
    <form class="pole-form" onSubmit=${submit}>
      <label>Pole A <input name="a" value=${a} onInput=${withValue(setA)} placeholder="happy"
        required spellcheck="false" /></label>
      <button type="button" class="secondary swap" aria-label="Swap the poles" onClick=${() => {
        setA(b);
        setB(a);
      }}>⇄</button>
      <label>Pole B <input name="b" value=${b} onInput=${withValue(setB)} placeholder="sad"
        required spellcheck="false" /></label>
      <button type="submit" disabled=${busy}>${busy ? "Ordering…" : "Compare"}</button>
    </form>
    <${ErrorNote} error=${error} />
    ${!result && !error && html`<${Empty}>Name two poles — words, phrases or expressions — and compare.</${Empty}>`}
    ${hist && bins.length > 0 && html`<${Histogram} bins=${bins}
      label=${`All ${hist.points} items along A − B (delta = sim A − sim B; right: closer to
        ${route.a}, left: closer to ${route.b}) · mean ${hist.mean.toFixed(4)}, std ${hist.std.toFixed(4)}`} />`}
    ${result && html`<div class="poles">
      <${Pole} side="a" title=${`A: ${route.a}`} hits=${result.a.hits} collection=${collection} />
      <${Pole} side="b" title=${`B: ${route.b}`} hits=${result.b.hits} collection=${collection} />
    </div>`}
  </section>`;
}
