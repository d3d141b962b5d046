// @ts-check
// Moments: search a collection of video frames grouped by video (`group_by: "video"`): one row per film,
// its best moments drawn as marks on a timeline from 0 to the film's duration and as thumbnails; a mark
// or a thumbnail plays the film from that moment.

import { useEffect, useRef, useState } from "preact/hooks";
import { api, ApiError } from "../api.js";
import { Empty, ErrorNote, Thumb } from "../components.js";
import { withValue } from "../dom.js";
import { ExpressionBox } from "../expression-box.js";
import { altText } from "../grid.js";
import { html } from "../html.js";
import { useRequest } from "../request.js";
import { routeToSearch, setRoute } from "../state.js";
import { FilmPlayer, fileName, formatTime, frameInfo, playFrom, timeTicks } from "../video.js";

/** @typedef {import("../api.js").Hit} Hit */
/** @typedef {import("../api.js").VideoGroup} VideoGroup */

/** Where `t` sits on a timeline of `duration` seconds, in percent (clamped to the track).
 * @param {number} t @param {number} duration */
const at = (t, duration) => `${Math.min(Math.max(duration > 0 ? (t / duration) * 100 : 0, 0), 100)}%`;

/** A moment's time in seconds (0 for a hit that is no frame). @param {Hit} h */
const timeOf = (h) => frameInfo(h.payload)?.timestamp ?? 0;

/** The film's length: the group's (from the payloads), else the latest moment's time.
 * @param {VideoGroup} g */
const lengthOf = (g) => (g.duration && g.duration > 0 ? g.duration : Math.max(...g.moments.map(timeOf), 1));

/** @param {{moments: Hit[], duration: number, name: string, playhead: number | null,
 *   onPlay: (h: Hit) => void}} props */
function Timeline({ moments, duration, name, playhead, onPlay }) {
  return html`<div class="timeline" role="group" aria-label=${`Moments of ${name} on its timeline`}
      data-duration=${duration}>
    <div class="timeline-track">
      ${playhead !== null && html`<span class="playhead" aria-hidden="true" style=${`left:${at(playhead, duration)}`}
        data-t=${playhead}></span>`}
      ${moments.map((h, i) => {
        const t = timeOf(h);
        return html`<button type="button" key=${h.id} class="mark" style=${`left:${at(t, duration)}`}
          data-id=${h.id} data-t=${t} data-rank=${i + 1} data-score=${h.score}
          title=${`${formatTime(t, 1)} · score ${h.score.toFixed(3)} · ${altText(h)}`}
          aria-label=${`Play ${name} from ${formatTime(t, 1)} (moment ${i + 1}, score ${h.score.toFixed(3)})`}
          onClick=${() => onPlay(h)}>${i + 1}</button>`;
      })}
    </div>
    <div class="timeline-axis" aria-hidden="true">
      ${timeTicks(duration).map((t) => html`<span key=${t} class="tick" style=${`left:${at(t, duration)}`}
        data-t=${t}>${formatTime(t)}</span>`)}
    </div>
  </div>`;
}

/** One film: its player, its moments on the timeline and as thumbnails.
 * @param {{group: VideoGroup & {video_id: string}, collection: string, q: string}} props */
function FilmRow({ group, collection, q }) {
  const video = useRef(/** @type {HTMLVideoElement | null} */ (null));
  const [playhead, setPlayhead] = useState(/** @type {number | null} */ (null));
  const name = fileName(group.source) || group.video_id;
  const duration = lengthOf(group);
  /** @param {Hit} h */
  const play = (h) => {
    if (!video.current) return;
    setPlayhead(timeOf(h));
    playFrom(video.current, timeOf(h));
  };
  // The path view with the same expression, over this video's frames only.
  const pathHref = `/${routeToSearch({ collection, view: "path", video: group.video_id, q })}`;
  return html`<li class="film" data-video-id=${group.video_id} data-score=${group.score}>
    <div class="film-head">
      <h2 title=${group.source || ""}>${name}</h2>
      <span class="muted">${formatTime(duration, 1)} · best ${group.score.toFixed(3)}</span>
      <a class="small" href=${pathHref} onClick=${(/** @type {MouseEvent} */ e) => {
        if (e.metaKey || e.ctrlKey || e.shiftKey || e.button !== 0) return;
        e.preventDefault();
        setRoute({ view: "path", video: group.video_id });
      }}>Film strip of this video</a>
    </div>
    <div class="film-body">
      <${FilmPlayer} collection=${collection} videoId=${group.video_id} poster=${group.moments[0]}
        label=${name} videoRef=${video}
        onTime=${setPlayhead} />
      <div class="film-moments">
        <${Timeline} moments=${group.moments} duration=${duration} name=${name} playhead=${playhead} onPlay=${play} />
        <ol class="moment-thumbs" aria-label=${`Best moments of ${name}`}>
          ${group.moments.map((h, i) => html`<li key=${h.id} data-id=${h.id} data-t=${timeOf(h)}>
            <button type="button" class="moment" onClick=${() => play(h)} title=${altText(h)}
              aria-label=${`Play ${name} from ${formatTime(timeOf(h), 1)}: ${altText(h)}`}>
              <${Thumb} collection=${collection} id=${h.id} size=${128} alt="" />
              <span class="moment-meta"><span class="rank">#${i + 1}</span>
                <span class="moment-time">${formatTime(timeOf(h), 1)}</span>
                <span class="score">${h.score.toFixed(3)}</span></span>
            </button>
          </li>`)}
        </ol>
      </div>
    </div>
  </li>`;
}

/** @param {import("./index.js").ViewProps} props */
export function MomentsView({ route, collection }) {
  const q = route.q || "";
  const limit = Math.min(Math.max(Number(route.limit) || 10, 1), 100);
  const perVideo = Math.min(Math.max(Number(route.moments) || 5, 1), 50);
  const [text, setText] = useState(q);
  useEffect(() => setText(q), [q]);

  const { result, error, busy } = useRequest(
    collection && q.trim() ? `${collection}\n${q}\n${limit}\n${perVideo}` : "",
    (signal) => api.search(collection, { expression: q, limit, group_by: "video", group_size: perVideo }, signal),
  );
  const exprError = error instanceof ApiError && error.detail.code === "invalid_expression" ? error.detail : null;
  const groups = result?.groups || [];
  const films = /** @type {(VideoGroup & {video_id: string})[]} */ (groups.filter((g) => g.video_id !== null));
  const images = groups.length - films.length;
  return html`<section class="view view-moments" aria-labelledby="moments-title">
    <h1 id="moments-title">Moments</h1>
    <p class="lede">Search the frames of the collection's videos: one row per video, its best moments on its
      timeline. Press a moment to play the video from there.</p>
    <${ExpressionBox} id="moments-expr" value=${text} onInput=${setText} onSubmit=${() => setRoute({ q: text })}
      error=${exprError} busy=${busy} />
    <div class="inline">
      <label>Videos <input type="number" min="1" max="100" value=${limit} size="4"
        onChange=${withValue((v) => setRoute({ limit: v }, { replace: true }))} /></label>
      <label>Moments per video <input type="number" min="1" max="50" value=${perVideo} size="4"
        onChange=${withValue((v) => setRoute({ moments: v }, { replace: true }))} /></label>
    </div>
    ${!exprError && html`<${ErrorNote} error=${error} />`}
    ${!result && !error && html`<${Empty}>Type an expression to find its moments in the videos.</${Empty}>`}
    ${result && html`<p class="query-info" data-videos=${films.length}>${films.length} video${
      films.length === 1 ? "" : "s"}${images ? ` · ${images} image${images === 1 ? "" : "s"} that are no video frames (not shown)` : ""}</p>`}
    ${result && !films.length && html`<${Empty}>No video frames match: this collection may hold no videos
      (ingest .mp4, .mkv, .webm or .mov files in <a href="/?view=jobs">Jobs</a>).</${Empty}>`}
    ${films.length > 0 && html`<ol class="films" aria-label="Videos and their moments">
      ${films.map((g) => html`<${FilmRow} key=${g.video_id} group=${g} collection=${collection} q=${q} />`)}
    </ol>`}
  </section>`;
}
