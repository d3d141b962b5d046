// @ts-check
// Two small charts drawn as accessible SVG/HTML (no chart library needed for bars and a table):
// a histogram of the collection along an axis, and a heatmap of a similarity matrix.

import { html } from "./html.js";

/** @typedef {{lo: number, hi: number, count: number}} Bin */

/** The server's histogram ({edges, counts}, numpy style: one more edge than counts) as bins.
 * @param {import("./api.js").HistogramData | null} h @returns {Bin[]} */
export function histogramBins(h) {
  if (!h) return [];
  return h.counts.map((count, i) => ({ lo: h.edges[i], hi: h.edges[i + 1], count }));
}

/** @param {{bins: Bin[], label: string}} props */
export function Histogram({ bins, label }) {
  if (!bins.length) return null;
  const W = 600;
  const H = 140;
  const pad = 0;
  const lo = bins[0].lo;
  const hi = bins[bins.length - 1].hi;
  const span = hi - lo || 1;
  const maxC = Math.max(...bins.map((b) => b.count), 1);
  /** @param {number} v */
  const x = (v) => pad + ((v - lo) / span) * (W - 2 * pad);
  const total = bins.reduce((s, b) => s + b.count, 0);
  return html`<figure class="histogram">
    <svg viewBox=${`0 0 ${W} ${H}`} role="img" aria-label=${`${label}: ${total} items in ${bins.length} bins from
      ${lo.toFixed(3)} to ${hi.toFixed(3)}`} preserveAspectRatio="none">
      ${bins.map((b) => {
        const h = (b.count / maxC) * H;
        return html`<rect class=${b.hi <= 0 ? "bin-b" : b.lo >= 0 ? "bin-a" : "bin-mid"} x=${x(b.lo) + 0.5}
          y=${H - h} width=${Math.max(x(b.hi) - x(b.lo) - 1, 1)} height=${h}><title>${b.lo.toFixed(3)} … ${b.hi.toFixed(3)}:
          ${b.count}</title></rect>`;
      })}
      ${lo < 0 && hi > 0 && html`<line class="zero" x1=${x(0)} x2=${x(0)} y1="0" y2=${H} />`}
    </svg>
    <div class="hist-axis" aria-hidden="true"><span class="lo">${lo.toFixed(3)}</span>
      ${lo < 0 && hi > 0 && html`<span class="zero" style=${`left:${(x(0) / W) * 100}%`}>0</span>`}
      <span class="hi">${hi.toFixed(3)}</span></div>
    <figcaption>${label}</figcaption>
  </figure>`;
}

/** A diverging colour for v in [lo, hi] (blue below the middle, orange above), readable as a background.
 * @param {number} v @param {number} lo @param {number} hi */
function cellColor(v, lo, hi) {
  const t = hi > lo ? (v - lo) / (hi - lo) : 0.5;
  const hue = t < 0.5 ? 215 : 28;
  const strength = Math.abs(t - 0.5) * 2;
  return `hsl(${hue} 85% ${96 - strength * 46}%)`;
}

/**
 * A heatmap as a table (screen readers read the numbers). rows/cols are labels; values[i][j] floats.
 * `contrast` adds a last row (values per column) with its own colour scale.
 * `rowThumbs`: a picture per row, shown before its label (the bias probe's images).
 * @param {{rows: string[], cols: string[], values: number[][], contrast?: number[], contrastLabel?: string,
 *   rowHeader?: string, rowThumbs?: unknown[]}} props
 */
export function Heatmap({ rows, cols, values, contrast, contrastLabel, rowHeader, rowThumbs }) {
  const flat = values.flat();
  const lo = Math.min(...flat);
  const hi = Math.max(...flat);
  const cMax = contrast ? Math.max(...contrast.map(Math.abs), 1e-9) : 1;
  return html`<div class="heatmap-wrap"><table class="heatmap">
    <thead><tr><th scope="col">${rowHeader || ""}</th>${cols.map((c) => html`<th scope="col" key=${c}>${c}</th>`)}</tr></thead>
    <tbody>
      ${rows.map((r, i) => html`<tr key=${i}><th scope="row">${rowThumbs?.[i]}${r}</th>
        ${values[i].map((v, j) => html`<td key=${j} data-row=${i} data-col=${j} data-value=${v}
          style=${`background:${cellColor(v, lo, hi)}`}>${v.toFixed(3)}</td>`)}</tr>`)}
      ${contrast && html`<tr class="contrast-row"><th scope="row">${contrastLabel}</th>
        ${contrast.map((v, j) => html`<td key=${j} data-col=${j} data-value=${v}
          style=${`background:${cellColor(v, -cMax, cMax)}`}>${v >= 0 ? "+" : ""}${v.toFixed(3)}</td>`)}</tr>`}
    </tbody>
  </table>
  <p class="legend">Cosine similarity; colour from ${lo.toFixed(3)} (blue) to ${hi.toFixed(3)} (orange).</p></div>`;
}
