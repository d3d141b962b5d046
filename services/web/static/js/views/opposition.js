// Opposition: two poles side by side. The server orders the whole collection by
// sim(x,A) − sim(x,B) = x·(A − B) (one kNN on A − B) and returns both ends with exact deltas.

import { useEffect, useRef, useState } from "preact/hooks";
import { api } from "../api.js";
import { Empty, ErrorNote } from "../components.js";
import { Histogram, histogramBins } from "../charts.js";
import { ResultsGrid } from "../grid.js";
import { html } from "../html.js";
import { setRoute } from "../state.js";

const HISTOGRAM_BINS = 40;

/** A pole as typed: a bare word or phrase becomes a text term; anything with quotes, (), @ is an expression. */
export function poleExpression(s) {
  const t = s.trim();
  return /["()@]/.test(t) ? t : `"${t.replace(/["\\]/g, "\\$&")}"`;
}

function Pole({ side, title, hits, collection, fallback }) {
  const extra = (h) =>
    h.sim_a !== undefined
      ? html`<span class="sims" title="similarity to A and to B">A ${h.sim_a.toFixed(3)} · B ${h.sim_b.toFixed(3)}</span>`
      : null;
  return html`<section class=${`pole pole-${side}`} aria-labelledby=${`pole-${side}-title`} data-side=${side}>
    <h2 id=${`pole-${side}-title`}>${title}</h2>
    <${ResultsGrid} hits=${hits} collection=${collection} scoreLabel=${fallback ? "axis score" : "delta"}
      extra=${extra} label=${title} />
  </section>`;
}

export function OppositionView({ route, collection }) {
  const [a, setA] = useState(route.a || "");
  const [b, setB] = useState(route.b || "");
  const [result, setResult] = useState(null);
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const seq = useRef(0);
  const limit = Math.min(Math.max(Number(route.limit) || 12, 1), 100);

  useEffect(() => {
    setA(route.a || "");
    setB(route.b || "");
  }, [route.a, route.b]);

  useEffect(() => {
    if (!collection || !route.a?.trim() || !route.b?.trim()) {
      setResult(null);
      return;
    }
    const my = ++seq.current;
    const ea = poleExpression(route.a);
    const eb = poleExpression(route.b);
    setBusy(true);
    setError(null);
    const run = async () => {
      try {
        const r = await api.oppositions(collection, { a: ea, b: eb, limit, histogram: HISTOGRAM_BINS });
        const asScore = (hits) => hits.map((h) => ({ ...h, score: h.delta ?? h.score }));
        return { a: asScore(r.a.hits), b: asScore(r.b.hits), histogram: r.histogram, fallback: false };
      } catch (err) {
        if (!err.missing) throw err;
        // An older server without /oppositions: axis(A, B) orders the collection the same way
        // (its score is the delta divided by ‖A − B‖), so the poles are still exact.
        const [ra, rb] = await Promise.all([
          api.search(collection, { expression: `axis(${ea}, ${eb})`, limit }),
          api.search(collection, { expression: `axis(${eb}, ${ea})`, limit }),
        ]);
        return { a: ra.hits, b: rb.hits, histogram: null, fallback: true };
      }
    };
    run()
      .then((r) => my === seq.current && setResult(r))
      .catch((err) => my === seq.current && (setError(err), setResult(null)))
      .finally(() => my === seq.current && setBusy(false));
  }, [collection, route.a, route.b, limit]);

  const submit = (e) => {
    e.preventDefault();
    setRoute({ a: a.trim(), b: b.trim() });
  };
  const bins = histogramBins(result?.histogram);
  return html`<section class="view view-opposition" aria-labelledby="opp-title">
    <h1 id="opp-title">Opposition</h1>
    <p class="lede">Order the whole collection by <var>sim(x, A) − sim(x, B)</var> and show both ends: the items
      most like A rather than B, and the items most like B rather than A.</p>
    <form class="pole-form" onSubmit=${submit}>
      <label>Pole A <input name="a" value=${a} onInput=${(e) => setA(e.currentTarget.value)} placeholder="happy"
        required spellcheck="false" /></label>
      <button type="button" class="secondary swap" aria-label="Swap the poles" onClick=${() => {
        setA(b);
        setB(a);
      }}>⇄</button>
      <label>Pole B <input name="b" value=${b} onInput=${(e) => setB(e.currentTarget.value)} placeholder="sad"
        required spellcheck="false" /></label>
      <button type="submit" disabled=${busy}>${busy ? "Ordering…" : "Compare"}</button>
    </form>
    <${ErrorNote} error=${error} what="Oppositions" />
    ${!result && !error && html`<${Empty}>Name two poles — words, phrases or expressions — and compare.</${Empty}>`}
    ${result?.fallback && html`<p class="note" role="status" data-fallback="axis">This server has no oppositions route;
      the poles come from searching <code>axis(A, B)</code> and <code>axis(B, A)</code> (same order, scores are
      deltas ÷ ‖A − B‖; no histogram).</p>`}
    ${result && bins.length > 0 && html`<${Histogram} bins=${bins}
      label=${`All ${result.histogram.points ?? ""} items along A − B (delta = sim A − sim B; right: closer to
        ${route.a}, left: closer to ${route.b})${result.histogram.mean !== undefined
          ? ` · mean ${result.histogram.mean.toFixed(4)}, std ${result.histogram.std.toFixed(4)}` : ""}`} />`}
    ${result && !result.fallback && !bins.length && html`<p class="note">No histogram in this server's answer.</p>`}
    ${result && html`<div class="poles">
      <${Pole} side="a" title=${`A: ${route.a}`} hits=${result.a} collection=${collection} fallback=${result.fallback} />
      <${Pole} side="b" title=${`B: ${route.b}`} hits=${result.b} collection=${collection} fallback=${result.fallback} />
    </div>`}
  </section>`;
}
