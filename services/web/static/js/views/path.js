// @ts-check
// Path: the top results of an expression, reordered along a short path through embedding space
// (nearest-neighbour tour improved by 2-opt on the server), laid out as a film strip; and a walk from
// expression A to expression B (slerp between them, the nearest unseen image at each step).

import { useEffect, useState } from "preact/hooks";
import { api, ApiError } from "../api.js";
import { Empty, ErrorNote, Thumb } from "../components.js";
import { prevent, withValue } from "../dom.js";
import { ExpressionBox } from "../expression-box.js";
import { altText } from "../grid.js";
import { html } from "../html.js";
import { useRequest } from "../request.js";
import { setRoute } from "../state.js";
import { fileName, formatTime, frameInfo } from "../video.js";
import { poleExpression } from "./opposition.js";

/** @typedef {import("../api.js").PathPoint} PathPoint */

/** @param {{frames: PathPoint[], collection: string, label: string, caption: (h: PathPoint, i: number) => string,
 *   legend: string, places?: number[], total?: number}} props
 * `places`: each frame's 1-based place along the whole path (default: its place in this strip). */
function FilmStrip({ frames, collection, label, caption, legend, places, total = frames.length }) {
  return html`${legend && html`<p class="filmstrip-legend" data-legend>${legend}</p>`}<ol class="filmstrip"
    aria-label=${label}>
    ${frames.map((h, i) => {
      const place = places?.[i] ?? i + 1;
      return html`<li key=${`${h.id}-${i}`} class="frame" data-id=${h.id} data-step=${i} data-place=${place}
        tabindex="0" data-alt=${altText(h)} data-t=${h.t} data-timestamp=${frameInfo(h.payload)?.timestamp}
        data-payload=${JSON.stringify(h.payload || {})}>
        <${Thumb} collection=${collection} id=${h.id} size=${192} alt=${altText(h)} />
        <span class="frame-no" title=${`Frame ${place} of ${total}`}
          aria-label=${`Frame ${place} of ${total}`}>${place}</span>
        ${caption(h, i) && html`<span class="frame-step">${caption(h, i)}</span>`}
      </li>`;
    })}
  </ol>`;
}

/** A path's points split by film, each film's frames in path order (films in the order the path meets
 * them); null when some point is no video frame.
 * @param {PathPoint[]} order @returns {{videoId: string, name: string, frames: PathPoint[], places: number[]}[] | null} */
function filmsOf(order) {
  /** @type {Map<string, {videoId: string, name: string, frames: PathPoint[], places: number[]}>} */
  const films = new Map();
  for (const [i, h] of order.entries()) {
    const f = frameInfo(h.payload);
    if (!f) return null;
    let film = films.get(f.videoId);
    if (!film) films.set(f.videoId, (film = { videoId: f.videoId, name: fileName(f.source) || f.videoId, frames: [], places: [] }));
    film.frames.push(h);
    film.places.push(i + 1);
  }
  return order.length ? [...films.values()] : null;
}

/** A frame's time in its video. @param {PathPoint} h */
const filmCaption = (h) => formatTime(frameInfo(h.payload)?.timestamp ?? 0, 1);

/** @param {import("./index.js").ViewProps} props */
export function PathView({ route, collection }) {
  const q = route.q || "";
  const k = Math.min(Math.max(Number(route.k) || 16, 2), 200);
  const steps = Math.min(Math.max(Number(route.steps) || 8, 2), 100);
  const [text, setText] = useState(q);
  const [from, setFrom] = useState(route.from || "");
  const [to, setTo] = useState(route.to || "");
  useEffect(() => setText(q), [q]);
  useEffect(() => {
    setFrom(route.from || "");
    setTo(route.to || "");
  }, [route.from, route.to]);

  // ?video=ID: only that video's frames (the moments view links here with it).
  const video = route.video || "";
  const filter = video ? { video_id: video } : undefined;
  const ordered = useRequest(collection && q.trim() ? `${collection}\n${q}\n${k}\n${video}` : "", () =>
    api.path(collection, { expression: q, limit: k, filter }),
  );
  const walkFrom = route.from?.trim() ? route.from : "";
  const walkTo = route.to?.trim() ? route.to : "";
  const walkKey = collection && walkFrom && walkTo ? `${collection}\n${walkFrom}\n${walkTo}\n${steps}\n${video}` : "";
  const walked = useRequest(walkKey, () =>
    api.path(collection, { walk: { from: poleExpression(walkFrom), to: poleExpression(walkTo), steps }, filter }),
  );

  const exprError = ordered.error instanceof ApiError && ordered.error.detail.code === "invalid_expression"
    ? ordered.error.detail : null;
  const r = ordered.result;
  const films = r ? filmsOf(r.order) : null;
  return html`<section class="view view-path" aria-labelledby="path-title">
    <h1 id="path-title">Path</h1>
    <p class="lede">The top ${k} results, ordered so that related images sit next to each other.</p>
    <${ExpressionBox} id="path-expr" value=${text} onInput=${setText} onSubmit=${() => setRoute({ q: text })}
      error=${exprError} busy=${ordered.busy} />
    <label class="inline">Images <input type="number" min="2" max="200" value=${k} size="4"
      onChange=${withValue((v) => setRoute({ k: v }, { replace: true }))} /></label>
    ${!exprError && html`<${ErrorNote} error=${ordered.error} />`}
    ${!r && !ordered.error && html`<${Empty}>Type an expression to lay its results out along a path.</${Empty}>`}
    ${video && html`<p class="query-info video-only" data-video=${video}>Only the frames of video
      <code>${video}</code> <button type="button" class="small secondary" onClick=${() => setRoute({ video: "" })}>All videos</button></p>`}
    ${r && html`<p class="query-info">${`${r.order.length} frames · path length `}<span
      data-path-length>${Number(r.length).toFixed(3)}</span>${
      ` rad (in ranked order: ${Number(r.input_length).toFixed(3)} rad)`}</p>`}
    ${r && !films && html`<${FilmStrip} frames=${r.order} collection=${collection} label="Results in path order"
        legend="Top left: the frame's place along the path. Bottom right: its angle to the frame before (radians)."
        caption=${(/** @type {PathPoint} */ h, /** @type {number} */ i) => (i > 0 ? Number(h.step).toFixed(3) : "")} />`}
    ${r && films && films.map((f, i) => html`<section key=${f.videoId} class="film-strip" data-video-id=${f.videoId}>
      <h3>${f.name}${films.length > 1 && html` <span class="muted">· ${f.frames.length} of the ${r.order.length}
        frames</span>`}
        ${!video && films.length > 1 && html` <button type="button" class="small secondary"
          onClick=${() => setRoute({ video: f.videoId })}>Only this video</button>`}</h3>
      <${FilmStrip} frames=${f.frames} places=${f.places} total=${r.order.length} collection=${collection}
        label=${`Frames of ${f.name} in path order`} caption=${filmCaption}
        legend=${i === 0 ? "Top left: the frame's place along the path. Bottom right: its time in the video." : ""} />
    </section>`)}

    <h2>Walk from A to B</h2>
    <form class="pole-form" onSubmit=${prevent(() => setRoute({ from: from.trim(), to: to.trim() }))}>
      <label>From <input value=${from} onInput=${withValue(setFrom)} required
        placeholder="a small red circle" spellcheck="false" /></label>
      <label>To <input value=${to} onInput=${withValue(setTo)} required
        placeholder="a large blue square" spellcheck="false" /></label>
      <label>Steps <input type="number" min="2" max="100" value=${steps} size="4"
        onChange=${withValue((v) => setRoute({ steps: v }, { replace: true }))} /></label>
      <button type="submit" disabled=${walked.busy}>${walked.busy ? "Walking…" : "Walk"}</button>
    </form>
    <${ErrorNote} error=${walked.error} />
    ${walked.result?.walk && html`<${FilmStrip} frames=${walked.result.walk} collection=${collection}
      label="Walk from A to B" caption=${(/** @type {PathPoint} */ h) => `t=${Number(h.t).toFixed(2)}${
        frameInfo(h.payload) ? ` · ${filmCaption(h)}` : ""}`}
      legend=${`Top left: the step of the walk. Bottom right: how far from A to B it is (t, 0 to 1)${
        walked.result.walk.some((h) => frameInfo(h.payload)) ? ", and a frame's time in its video" : ""}.`} />`}
  </section>`;
}
