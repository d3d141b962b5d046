// @ts-check
// A canvas scatter for up to a few hundred thousand points: dots are written straight into an ImageData
// buffer (one Uint32 store per pixel, no path per point), so a redraw of 100k points takes a few ms.
// Wheel or the buttons zoom, drag pans, Shift-drag (or the Box tool) selects a rectangle in data units.
// Zoomed in far enough that few points are in view, each visible point is drawn as its thumbnail.

import { useEffect, useRef, useState } from "preact/hooks";
import { thumbSrc } from "./api.js";
import { html } from "./html.js";

/** @typedef {{x0: number, x1: number, y0: number, y1: number}} Box  a rectangle in data units (x0 < x1, y0 < y1) */

const THUMB_POINTS = 80; // thumbnails replace dots when at most this many points are in view
const THUMB_PX = 40;
const HEIGHT = 560;

/** Data bounds of the points, padded by 5%, never empty. @param {Float32Array} xs @param {Float32Array} ys */
export function bounds(xs, ys) {
  let x0 = Infinity, x1 = -Infinity, y0 = Infinity, y1 = -Infinity;
  for (let i = 0; i < xs.length; i++) {
    if (xs[i] < x0) x0 = xs[i];
    if (xs[i] > x1) x1 = xs[i];
    if (ys[i] < y0) y0 = ys[i];
    if (ys[i] > y1) y1 = ys[i];
  }
  if (!(x1 > x0)) [x0, x1] = [x0 - 0.01 || -0.01, x1 + 0.01 || 0.01];
  if (!(y1 > y0)) [y0, y1] = [y0 - 0.01 || -0.01, y1 + 0.01 || 0.01];
  const px = (x1 - x0) * 0.05, py = (y1 - y0) * 0.05;
  return { x0: x0 - px, x1: x1 + px, y0: y0 - py, y1: y1 + py };
}

/** Indices of the points inside `box`. @param {Float32Array} xs @param {Float32Array} ys @param {Box} box */
export function inBox(xs, ys, box) {
  const out = [];
  for (let i = 0; i < xs.length; i++) {
    if (xs[i] >= box.x0 && xs[i] <= box.x1 && ys[i] >= box.y0 && ys[i] <= box.y1) out.push(i);
  }
  return out;
}

/** @type {Map<string, HTMLImageElement | null>} */
const thumbCache = new Map();

/** @param {string} collection @param {string} id @param {() => void} onLoad */
function thumb(collection, id, onLoad) {
  const key = `${collection}/${id}`;
  if (thumbCache.has(key)) return thumbCache.get(key) || null;
  thumbCache.set(key, null);
  thumbSrc(collection, id, 64).then((src) => {
    const img = new Image();
    img.onload = () => {
      thumbCache.set(key, img);
      onLoad();
    };
    img.src = src;
  }, () => {});
  return null;
}

/**
 * @param {{xs: Float32Array, ys: Float32Array, ids: string[], collection: string, selected: Set<number>,
 *   onSelect: (box: Box) => void, xLabel: [string, string], yLabel: [string, string], highlight?: number | null,
 *   onPick?: (i: number) => void}} props
 */
export function Scatter({ xs, ys, ids, collection, selected, onSelect, xLabel, yLabel, highlight = null, onPick }) {
  const canvas = useRef(/** @type {HTMLCanvasElement | null} */ (null));
  const wrap = useRef(/** @type {HTMLDivElement | null} */ (null));
  const [view, setView] = useState(() => bounds(xs, ys));
  const [width, setWidth] = useState(800);
  const [boxMode, setBoxMode] = useState(false);
  const [drag, setDrag] = useState(/** @type {{sx: number, sy: number, ex: number, ey: number, pan: boolean,
    start: Box} | null} */ (null));
  const [tick, setTick] = useState(0);
  const [stats, setStats] = useState({ drawMs: 0, visible: 0, thumbs: 0 });

  useEffect(() => setView(bounds(xs, ys)), [xs, ys]);
  useEffect(() => {
    const el = wrap.current;
    if (!el) return undefined;
    const ro = new ResizeObserver(() => setWidth(Math.max(200, Math.floor(el.clientWidth))));
    ro.observe(el);
    return () => ro.disconnect();
  }, []);

  const H = HEIGHT;
  /** data → canvas pixels */
  const toPx = (/** @type {number} */ x, /** @type {number} */ y) => [
    ((x - view.x0) / (view.x1 - view.x0)) * width,
    H - ((y - view.y0) / (view.y1 - view.y0)) * H,
  ];
  /** canvas pixels → data */
  const toData = (/** @type {number} */ px, /** @type {number} */ py) => [
    view.x0 + (px / width) * (view.x1 - view.x0),
    view.y0 + ((H - py) / H) * (view.y1 - view.y0),
  ];

  useEffect(() => {
    const c = canvas.current;
    if (!c) return;
    const t0 = performance.now();
    const dpr = 1; // one canvas pixel per CSS pixel: dots stay cheap on high-density screens
    c.width = width * dpr;
    c.height = H * dpr;
    const ctx = /** @type {CanvasRenderingContext2D} */ (c.getContext("2d"));
    const img = ctx.createImageData(width, H);
    const buf = new Uint32Array(img.data.buffer);
    const bg = 0xffffffff;
    buf.fill(bg);
    // ABGR (little-endian) colours
    const dot = 0xb0a05a2a, sel = 0xff1f6fe0;
    const sx = width / (view.x1 - view.x0), sy = H / (view.y1 - view.y0);
    /** @type {number[]} */
    const visible = [];
    const n = xs.length;
    const big = n < 20_000; // 3×3 dots while they are few, 2×2 when they would merge into a blot
    for (let i = 0; i < n; i++) {
      const px = ((xs[i] - view.x0) * sx) | 0;
      const py = (H - (ys[i] - view.y0) * sy) | 0;
      if (px < 0 || py < 0 || px >= width - 1 || py >= H - 1) continue;
      if (visible.length <= THUMB_POINTS) visible.push(i);
      const colour = selected.has(i) ? sel : dot;
      const k = py * width + px;
      buf[k] = colour;
      buf[k + 1] = colour;
      buf[k + width] = colour;
      buf[k + width + 1] = colour;
      if (big && px < width - 2 && py < H - 2) {
        buf[k + 2] = colour;
        buf[k + width + 2] = colour;
        buf[k + 2 * width] = colour;
        buf[k + 2 * width + 1] = colour;
        buf[k + 2 * width + 2] = colour;
      }
    }
    ctx.putImageData(img, 0, 0);
    // Axes through zero.
    ctx.strokeStyle = "#888";
    ctx.setLineDash([4, 4]);
    const [zx, zy] = toPx(0, 0);
    ctx.beginPath();
    ctx.moveTo(zx, 0);
    ctx.lineTo(zx, H);
    ctx.moveTo(0, zy);
    ctx.lineTo(width, zy);
    ctx.stroke();
    ctx.setLineDash([]);
    let thumbs = 0;
    if (visible.length <= THUMB_POINTS) {
      for (const i of visible) {
        const im = thumb(collection, ids[i], () => setTick((t) => t + 1));
        const [px, py] = toPx(xs[i], ys[i]);
        if (im) {
          ctx.drawImage(im, px - THUMB_PX / 2, py - THUMB_PX / 2, THUMB_PX, THUMB_PX);
          thumbs++;
        }
        if (selected.has(i)) {
          ctx.strokeStyle = "#e06f1f";
          ctx.lineWidth = 2;
          ctx.strokeRect(px - THUMB_PX / 2, py - THUMB_PX / 2, THUMB_PX, THUMB_PX);
          ctx.lineWidth = 1;
        }
      }
    }
    if (highlight !== null && highlight < n) {
      const [px, py] = toPx(xs[highlight], ys[highlight]);
      ctx.strokeStyle = "#d00";
      ctx.lineWidth = 2;
      ctx.beginPath();
      ctx.arc(px, py, 8, 0, 2 * Math.PI);
      ctx.stroke();
      ctx.lineWidth = 1;
    }
    if (drag && !drag.pan) {
      ctx.strokeStyle = "#1f6fe0";
      ctx.fillStyle = "rgba(31, 111, 224, 0.12)";
      const x = Math.min(drag.sx, drag.ex), y = Math.min(drag.sy, drag.ey);
      ctx.fillRect(x, y, Math.abs(drag.ex - drag.sx), Math.abs(drag.ey - drag.sy));
      ctx.strokeRect(x, y, Math.abs(drag.ex - drag.sx), Math.abs(drag.ey - drag.sy));
    }
    setStats({ drawMs: performance.now() - t0, visible: visible.length > THUMB_POINTS ? -1 : visible.length, thumbs });
  }, [xs, ys, view, width, selected, drag, tick, highlight]);

  /** @param {number} factor @param {number} [cx] @param {number} [cy] data point that stays put */
  const zoom = (factor, cx = (view.x0 + view.x1) / 2, cy = (view.y0 + view.y1) / 2) =>
    setView((v) => ({
      x0: cx - (cx - v.x0) * factor, x1: cx + (v.x1 - cx) * factor,
      y0: cy - (cy - v.y0) * factor, y1: cy + (v.y1 - cy) * factor,
    }));

  /** @param {PointerEvent | MouseEvent | WheelEvent} e */
  const local = (e) => {
    const r = /** @type {HTMLCanvasElement} */ (canvas.current).getBoundingClientRect();
    return [e.clientX - r.left, e.clientY - r.top];
  };
  /** @param {WheelEvent} e */
  const onWheel = (e) => {
    e.preventDefault();
    const [px, py] = local(e);
    const [cx, cy] = toData(px, py);
    zoom(e.deltaY > 0 ? 1.25 : 0.8, cx, cy);
  };
  useEffect(() => {
    const c = canvas.current;
    if (!c) return undefined;
    c.addEventListener("wheel", onWheel, { passive: false });
    return () => c.removeEventListener("wheel", onWheel);
  });
  /** @param {PointerEvent} e */
  const onDown = (e) => {
    const [px, py] = local(e);
    /** @type {HTMLCanvasElement} */ (canvas.current).setPointerCapture?.(e.pointerId);
    setDrag({ sx: px, sy: py, ex: px, ey: py, pan: !(boxMode || e.shiftKey), start: view });
  };
  /** @param {PointerEvent} e */
  const onMove = (e) => {
    if (!drag) return;
    const [px, py] = local(e);
    if (drag.pan) {
      const dx = ((px - drag.sx) / width) * (drag.start.x1 - drag.start.x0);
      const dy = ((py - drag.sy) / H) * (drag.start.y1 - drag.start.y0);
      setView({ x0: drag.start.x0 - dx, x1: drag.start.x1 - dx, y0: drag.start.y0 + dy, y1: drag.start.y1 + dy });
    }
    setDrag({ ...drag, ex: px, ey: py });
  };
  const onUp = () => {
    if (!drag) return;
    const moved = Math.abs(drag.ex - drag.sx) + Math.abs(drag.ey - drag.sy);
    if (!drag.pan && moved > 4) {
      const [ax, ay] = toData(drag.sx, drag.sy);
      const [bx, by] = toData(drag.ex, drag.ey);
      onSelect({ x0: Math.min(ax, bx), x1: Math.max(ax, bx), y0: Math.min(ay, by), y1: Math.max(ay, by) });
    } else if (moved <= 4 && onPick) {
      // A click picks the nearest point within 12 px.
      let best = -1, bestD = 144;
      for (let i = 0; i < xs.length; i++) {
        const [px, py] = toPx(xs[i], ys[i]);
        const d = (px - drag.sx) ** 2 + (py - drag.sy) ** 2;
        if (d < bestD) [best, bestD] = [i, d];
      }
      if (best >= 0) onPick(best);
    }
    setDrag(null);
  };

  return html`<figure class="scatter" ref=${wrap}>
    <div class="scatter-tools" role="toolbar" aria-label="Plane tools">
      <button type="button" class="small secondary" onClick=${() => zoom(0.5)} aria-label="Zoom in">+</button>
      <button type="button" class="small secondary" onClick=${() => zoom(2)} aria-label="Zoom out">−</button>
      <button type="button" class="small secondary" onClick=${() => setView(bounds(xs, ys))}>Reset view</button>
      <label class="small"><input type="checkbox" checked=${boxMode} onChange=${() => setBoxMode(!boxMode)} />
        Box select (or Shift-drag)</label>
      <span class="hint" data-draw-ms=${stats.drawMs.toFixed(1)}>${xs.length.toLocaleString()} points ·
        drawn in ${stats.drawMs.toFixed(1)} ms${stats.thumbs ? ` · ${stats.thumbs} thumbnails` : ""}</span>
    </div>
    <div class="scatter-frame">
      <span class="axis-label y-top">↑ ${yLabel[0]}</span>
      <canvas ref=${canvas} class="scatter-canvas" width=${width} height=${H} data-points=${xs.length}
        data-thumbs=${stats.thumbs} data-visible=${stats.visible} data-view=${JSON.stringify(view)} tabindex="0"
        aria-label=${`Scatter of ${xs.length} points: x from ${xLabel[1]} (left) to ${xLabel[0]} (right), y from
          ${yLabel[1]} (bottom) to ${yLabel[0]} (top)`}
        onPointerDown=${onDown} onPointerMove=${onMove} onPointerUp=${onUp}
        onKeyDown=${(/** @type {KeyboardEvent} */ e) => {
          if (e.key === "+" || e.key === "=") zoom(0.8);
          else if (e.key === "-") zoom(1.25);
        }}></canvas>
      <span class="axis-label y-bottom">↓ ${yLabel[1]}</span>
      <span class="axis-label x-left">← ${xLabel[1]}</span>
      <span class="axis-label x-right">${xLabel[0]} →</span>
    </div>
  </figure>`;
}
