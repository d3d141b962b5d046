// @ts-check
// Video frames in the UI: which points are frames, their times as text, a timeline's ticks, and the one
// place a film is played (the <video> element, its source URL and seeking to a moment).

import { useEffect, useState } from "preact/hooks";
import { getKey, videoSrc } from "./api.js";
import { useThumbSrc } from "./components.js";
import { html } from "./html.js";

/** @typedef {import("./api.js").Payload} Payload */

/** The fields a video frame's payload has (services/ingest/video.py writes them).
 * @typedef {{videoId: string, timestamp: number, duration: number | null, shot: number | null, source: string,
 *   width: number | null, height: number | null}} FrameInfo  width, height: the video's */

/** A point's video fields, or null when it is no video frame (an image). @param {Payload | undefined} payload
 * @returns {FrameInfo | null} */
export function frameInfo(payload) {
  const p = payload || {};
  if (typeof p.video_id !== "string" || typeof p.timestamp !== "number") return null;
  return {
    videoId: p.video_id,
    timestamp: p.timestamp,
    duration: typeof p.duration === "number" ? p.duration : null,
    shot: typeof p.shot === "number" ? p.shot : null,
    source: typeof p.source === "string" ? p.source : "",
    width: typeof p.width === "number" && p.width > 0 ? p.width : null,
    height: typeof p.height === "number" && p.height > 0 ? p.height : null,
  };
}

/** A file's name without its folders. @param {string | null | undefined} source */
export function fileName(source) {
  return String(source || "").split(/[\\/]/).pop() || "";
}

/** Seconds as m:ss (h:mm:ss from an hour on), with `digits` decimals of the seconds.
 * @param {number} seconds @param {number} [digits] */
export function formatTime(seconds, digits = 0) {
  const s = Math.max(0, seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const scale = 10 ** digits;
  let rest = (Math.floor((s % 60) * scale + 1e-6) / scale).toFixed(digits);
  if (Number(rest) < 10) rest = `0${rest}`;
  return h ? `${h}:${String(m).padStart(2, "0")}:${rest}` : `${m}:${rest}`;
}

const TICK_STEPS = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200];

/** Tick times for a timeline 0…duration: a round step giving at most `most` intervals, and the end.
 * @param {number} duration @param {number} [most] @returns {number[]} */
export function timeTicks(duration, most = 8) {
  if (!(duration > 0)) return [0];
  const step = TICK_STEPS.find((s) => duration / s <= most) ?? Math.ceil(duration / most / 3600) * 3600;
  const ticks = [];
  for (let t = 0; t < duration - step * 0.35; t += step) ticks.push(t);
  ticks.push(duration);
  return ticks;
}

/** Play `video` from `seconds`. A film not loaded yet (preload="none") starts loading on play(), and the
 * seek waits for its metadata. @param {HTMLVideoElement} video @param {number} seconds */
export function playFrom(video, seconds) {
  // A browser may refuse to start (autoplay rules); the seek stands and the controls can start it.
  const start = () => video.play().catch(() => undefined);
  if (video.readyState >= HTMLMediaElement.HAVE_METADATA) {
    video.currentTime = seconds;
    start();
    return;
  }
  video.addEventListener("loadedmetadata", () => {
    video.currentTime = seconds;
  }, { once: true });
  start();
}

/** The one <video> of a film: its source is the stream route, or a signed link to it with a key (api.js videoSrc); nothing is fetched until it
 * plays (preload="none"). Until then it shows the thumbnail of the frame `poster` (its shape the video's, from
 * that frame's payload) and one button, "play from that frame"; the browser's controls come with playing.
 * `onTime` hears the playhead.
 * @param {{collection: string, videoId: string, poster: {id: string, payload?: Payload}, label: string,
 *   videoRef: import("preact").RefObject<HTMLVideoElement>, onTime?: (seconds: number) => void}} props */
export function FilmPlayer({ collection, videoId, poster, label, videoRef, onTime }) {
  const [started, setStarted] = useState(false);
  const [failed, setFailed] = useState(false);
  const [src, setSrc] = useState("");
  useEffect(() => {
    let live = true;
    setFailed(false);
    videoSrc(collection, videoId).then((u) => live && setSrc(u), () => live && setFailed(true));
    return () => {
      live = false;
    };
  }, [collection, videoId]);
  const posterSrc = useThumbSrc(collection, poster.id, 512);
  const f = frameInfo(poster.payload);
  const from = f?.timestamp ?? 0;
  const shape = f?.width && f.height ? `aspect-ratio: ${f.width} / ${f.height}` : undefined;
  /** @param {Event} e */
  const time = (e) => onTime?.(/** @type {HTMLVideoElement} */ (e.currentTarget).currentTime);
  return html`<div class="film-frame">
    <video class="film-player" ref=${videoRef} src=${src || undefined} controls=${started} muted
      playsinline preload="none" poster=${posterSrc || undefined} style=${shape} aria-label=${label}
      data-video-id=${videoId} onPlay=${() => setStarted(true)} onTimeUpdate=${time} onSeeked=${time}
      onError=${() => setFailed(true)}></video>
    ${!started && html`<button type="button" class="film-start" aria-label=${`Play ${label} from ${formatTime(from, 1)}`}
      onClick=${() => videoRef.current && playFrom(videoRef.current, from)}>▶ ${formatTime(from, 1)}</button>`}
    ${failed && html`<p class="error-note" role="alert">The video could not be played (it may have changed or moved
      since it was ingested${getKey() ? ", or its signed link expired: reload the page" : ""}).</p>`}
  </div>`;
}
