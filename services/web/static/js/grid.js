// @ts-check
// The results grid: thumbnails with rank and score; hover or focus shows the alt-text and each term's
// contribution (from `explain`). Between two result sets, cards that stay glide to their new place
// (FLIP with the Web Animations API), new ones animate in, and the ones that left are listed apart.

import { useLayoutEffect, useRef } from "preact/hooks";
import { Thumb } from "./components.js";
import { html } from "./html.js";
import { fileName, formatTime, frameInfo } from "./video.js";

/** @typedef {import("./api.js").Hit} Hit */
/** @typedef {{id: string, payload?: import("./api.js").Payload}} Shown  anything with a point's id and payload */

const reducedMotion = () => window.matchMedia?.("(prefers-reduced-motion: reduce)").matches;

/** @param {{contributions?: Record<string, number> | null}} props */
function Contributions({ contributions }) {
  const entries = Object.entries(contributions || {});
  if (!entries.length) return null;
  const max = Math.max(...entries.map(([, v]) => Math.abs(v)), 1e-9);
  return html`<table class="contrib">
    <caption>Contribution of each term to the score</caption>
    <tbody>${entries.map(([term, v]) => html`<tr key=${term} data-term=${term} data-value=${v}>
      <th scope="row" title=${term}>${term}</th>
      <td class="bar-cell"><span class=${`bar ${v < 0 ? "neg" : "pos"}`}
        style=${`width:${(Math.abs(v) / max) * 100}%`}></span></td>
      <td class="num">${v >= 0 ? "+" : ""}${v.toFixed(3)}</td></tr>`)}
    </tbody></table>`;
}

/** A point's text: its alt-text, else (a video frame) its video's file name and time, else its source.
 * @param {Shown} hit @returns {string} */
export function altText(hit) {
  const p = hit.payload || {};
  if (p.alt_text) return String(p.alt_text);
  const frame = frameInfo(p);
  if (frame) return `${fileName(frame.source) || frame.videoId} at ${formatTime(frame.timestamp, 1)}`;
  return String(p.source || hit.id);
}

/** A video frame's time on its card (nothing for an image). @param {{hit: Shown}} props */
function FrameTime({ hit }) {
  const frame = frameInfo(hit.payload);
  if (!frame) return null;
  return html`<span class="frame-time" data-timestamp=${frame.timestamp}
    title=${`${fileName(frame.source)} at ${formatTime(frame.timestamp, 1)}`}>${formatTime(frame.timestamp, 1)}</span>`;
}

/**
 * @template {Hit} H
 * @param {{hits: H[], collection: string, entered?: Set<string>, left?: Hit[],
 *   onMore?: (id: string) => void, onLess?: (id: string) => void,
 *   selected?: string[], onToggleSelect?: (id: string) => void, scoreLabel?: string,
 *   extra?: (hit: H) => unknown, label?: string}} props
 */
export function ResultsGrid({ hits, collection, entered, left, onMore, onLess, selected, onToggleSelect,
  scoreLabel = "score", extra, label = "Results" }) {
  const nodes = useRef(/** @type {Map<string, HTMLElement>} */ (new Map()));
  const rects = useRef(/** @type {Map<string, DOMRect>} */ (new Map()));

  useLayoutEffect(() => {
    const next = new Map();
    for (const [id, el] of nodes.current) {
      if (!el.isConnected) {
        nodes.current.delete(id);
        continue;
      }
      const r = el.getBoundingClientRect();
      next.set(id, r);
      const old = rects.current.get(id);
      if (old && !reducedMotion() && (old.left !== r.left || old.top !== r.top)) {
        el.animate(
          [{ transform: `translate(${old.left - r.left}px, ${old.top - r.top}px)` }, { transform: "none" }],
          { duration: 350, easing: "ease-out" },
        );
      }
    }
    rects.current = next;
  }, [hits]);

  return html`<div class="results">
    <ol class="grid" aria-label=${label}>
      ${hits.map((hit, i) => {
        const alt = altText(hit);
        const isNew = entered?.has(hit.id);
        const isSel = selected?.includes(hit.id);
        return html`<li key=${hit.id} class=${`hit${isNew ? " entered" : ""}`} tabindex="0"
          ref=${(/** @type {HTMLElement | null} */ el) => el && nodes.current.set(hit.id, el)}
          data-id=${hit.id} data-rank=${i + 1} data-score=${hit.score} data-alt=${alt}
          data-change=${isNew ? "entered" : "stayed"} data-payload=${JSON.stringify(hit.payload || {})}
          aria-label=${`${i + 1}. ${alt}, ${scoreLabel} ${Number(hit.score).toFixed(3)}`}>
          <${Thumb} collection=${collection} id=${hit.id} size=${256} alt=${alt} />
          <div class="hit-meta">
            <span class="rank">#${i + 1}</span>
            <span class="score" title=${scoreLabel}>${Number(hit.score).toFixed(3)}</span>
            <${FrameTime} hit=${hit} />
            ${extra && extra(hit)}
          </div>
          <div class="hit-details">
            <p class="alt">${alt}</p>
            <${Contributions} contributions=${hit.contributions} />
          </div>
          ${(onMore || onLess || onToggleSelect) && html`<div class="hit-actions">
            ${onMore && html`<button type="button" class="small secondary" onClick=${() => onMore(hit.id)}
              aria-label=${`More like ${alt}`} title="More like this: add image(id) with weight +0.5">+ More</button>`}
            ${onLess && html`<button type="button" class="small secondary" onClick=${() => onLess(hit.id)}
              aria-label=${`Less like ${alt}`} title="Less like this: add image(id) with weight −0.5">− Less</button>`}
            ${onToggleSelect && html`<label class="select"><input type="checkbox" checked=${isSel}
              onChange=${() => onToggleSelect(hit.id)} /> Select</label>`}
          </div>`}
        </li>`;
      })}
    </ol>
    ${left?.length ? html`<div class="left" aria-live="polite">
      <span class="left-title">Left the results (${left.length}):</span>
      <ul class="left-list">${left.map((hit) => html`<li key=${`left-${hit.id}`} class="gone" data-id=${hit.id}
        data-change="left" data-alt=${altText(hit)} title=${altText(hit)}>
        <${Thumb} collection=${collection} id=${hit.id} size=${64} alt=${altText(hit)} /></li>`)}</ul>
    </div>` : null}
  </div>`;
}
