// @ts-check
// The collection map: every point laid out in 2-D by a job (PCA at once, then UMAP), drawn on a canvas,
// coloured by cluster with the clusters' names; the hits of an expression highlighted; a box dragged on
// the map (or a cluster picked) selects points, and a selection becomes a search term or the images of
// the bias and classify views.

import { useEffect, useRef, useState } from "preact/hooks";
import { api, ApiError } from "../api.js";
import { Empty, ErrorNote, Thumb } from "../components.js";
import { prevent, withValue } from "../dom.js";
import { html } from "../html.js";
import { jobPercent, waitForJob } from "../job-wait.js";
import { setRoute } from "../state.js";

/** @typedef {import("../api.js").CollectionMap} CollectionMap */
/** @typedef {import("../api.js").Job} Job */

const HEIGHT = 560;
const PAD = 14;
const MAX_TERM_IMAGES = 16; // a selection's term: the sum of at most this many image(id) terms
const PALETTE = ["#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7",
  "#9c755f", "#bab0ac", "#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#8c564b", "#17becf"];

/** Canvas position (CSS px) of a map coordinate in [0, 1]. @param {number} v @param {number} size */
const toPx = (v, size) => PAD + v * (size - 2 * PAD);
/** @param {number} px @param {number} size */
const fromPx = (px, size) => (px - PAD) / (size - 2 * PAD);

/** A term standing for the selection: the sum of up to 16 of its images, evenly spread over it.
 * @param {string[]} ids @returns {string} */
export function selectionTerm(ids) {
  const step = Math.max(1, ids.length / MAX_TERM_IMAGES);
  const picked = [];
  for (let i = 0; i < ids.length && picked.length < MAX_TERM_IMAGES; i += step) picked.push(ids[Math.floor(i)]);
  return `(${picked.map((id) => `image(${id})`).join(" + ")})`;
}

/** @param {{map: CollectionMap, hits: Set<string>, selected: Set<string>,
 *   onSelect: (ids: string[]) => void}} props */
function MapCanvas({ map, hits, selected, onSelect }) {
  const canvas = useRef(/** @type {HTMLCanvasElement | null} */ (null));
  const [width, setWidth] = useState(800);
  const [box, setBox] = useState(/** @type {{x0: number, y0: number, x1: number, y1: number} | null} */ (null));

  useEffect(() => {
    const el = canvas.current;
    if (!el) return undefined;
    const ro = new ResizeObserver(() => setWidth(Math.max(200, Math.round(el.clientWidth))));
    ro.observe(el);
    return () => ro.disconnect();
  }, []);

  useEffect(() => {
    const el = canvas.current;
    const ctx = el?.getContext("2d");
    if (!el || !ctx) return;
    const dpr = window.devicePixelRatio || 1;
    el.width = width * dpr;
    el.height = HEIGHT * dpr;
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, width, HEIGHT);
    const n = map.ids.length;
    const r = n > 20000 ? 1 : n > 2000 ? 1.5 : 2.5;
    const dim = hits.size > 0 || selected.size > 0;
    ctx.globalAlpha = dim ? 0.35 : 0.8;
    for (let i = 0; i < n; i++) {
      ctx.fillStyle = PALETTE[map.cluster[i] % PALETTE.length];
      ctx.fillRect(toPx(map.x[i], width) - r, toPx(1 - map.y[i], HEIGHT) - r, 2 * r, 2 * r);
    }
    ctx.globalAlpha = 1;
    for (let i = 0; i < n; i++) {
      const id = map.ids[i];
      const isHit = hits.has(id);
      const isSel = selected.has(id);
      if (!isHit && !isSel) continue;
      ctx.beginPath();
      ctx.arc(toPx(map.x[i], width), toPx(1 - map.y[i], HEIGHT), r + 2.5, 0, 2 * Math.PI);
      ctx.fillStyle = PALETTE[map.cluster[i] % PALETTE.length];
      ctx.fill();
      ctx.lineWidth = isHit ? 2 : 1.5;
      ctx.strokeStyle = isHit ? "#111" : "#fff";
      ctx.stroke();
    }
    ctx.font = "600 13px system-ui, sans-serif";
    ctx.textAlign = "center";
    for (const c of map.clusters) {
      const x = toPx(c.x, width);
      const y = toPx(1 - c.y, HEIGHT);
      ctx.lineWidth = 4;
      ctx.strokeStyle = "rgba(255,255,255,0.9)";
      ctx.strokeText(c.label, x, y);
      ctx.fillStyle = "#111";
      ctx.fillText(c.label, x, y);
    }
    if (box) {
      ctx.setLineDash([5, 4]);
      ctx.strokeStyle = "#111";
      ctx.lineWidth = 1;
      ctx.strokeRect(box.x0, box.y0, box.x1 - box.x0, box.y1 - box.y0);
      ctx.setLineDash([]);
    }
  }, [map, hits, selected, width, box]);

  /** @param {PointerEvent} e */
  const at = (e) => {
    const rect = /** @type {HTMLCanvasElement} */ (e.currentTarget).getBoundingClientRect();
    return { x: e.clientX - rect.left, y: e.clientY - rect.top };
  };
  /** @param {PointerEvent} e */
  const down = (e) => {
    const p = at(e);
    /** @type {HTMLCanvasElement} */ (e.currentTarget).setPointerCapture(e.pointerId);
    setBox({ x0: p.x, y0: p.y, x1: p.x, y1: p.y });
  };
  /** @param {PointerEvent} e */
  const move = (e) => {
    if (!box) return;
    const p = at(e);
    setBox({ ...box, x1: p.x, y1: p.y });
  };
  const up = () => {
    if (!box) return;
    const [lx, hx] = [Math.min(box.x0, box.x1), Math.max(box.x0, box.x1)].map((v) => fromPx(v, width));
    // Canvas y grows downwards, map y upwards.
    const [ly, hy] = [Math.max(box.y0, box.y1), Math.min(box.y0, box.y1)].map((v) => 1 - fromPx(v, HEIGHT));
    setBox(null);
    const ids = [];
    for (let i = 0; i < map.ids.length; i++) {
      if (map.x[i] >= lx && map.x[i] <= hx && map.y[i] >= ly && map.y[i] <= hy) ids.push(map.ids[i]);
    }
    onSelect(ids);
  };
  return html`<canvas ref=${canvas} class="map-canvas" height=${HEIGHT} style=${`height:${HEIGHT}px`}
    data-points=${map.ids.length} data-highlighted=${map.ids.filter((id) => hits.has(id)).length}
    data-pad=${PAD} role="img" aria-label=${`Map of ${map.ids.length} points in ${map.clusters.length} clusters;
    drag a box to select points`} onPointerDown=${down} onPointerMove=${move} onPointerUp=${up}
    onPointerCancel=${() => setBox(null)}></canvas>`;
}

/** @param {import("./index.js").ViewProps} props */
export function MapView({ route, collection }) {
  const [map, setMap] = useState(/** @type {CollectionMap | null} */ (null));
  const [missing, setMissing] = useState(false);
  const [error, setError] = useState(/** @type {Error | null} */ (null));
  const [job, setJob] = useState(/** @type {Job | null} */ (null));
  const [reload, setReload] = useState(0);
  const [expr, setExpr] = useState(route.q || "");
  const [hits, setHits] = useState(/** @type {Set<string>} */ (new Set()));
  const [hitNote, setHitNote] = useState("");
  const [selected, setSelected] = useState(/** @type {string[]} */ ([]));
  const [vocabulary, setVocabulary] = useState("");
  const live = useRef(true);

  useEffect(() => {
    live.current = true;
    return () => {
      live.current = false;
    };
  }, []);

  // Load the stored map; while its job runs (the PCA view is up), follow the job and load again when it ends.
  useEffect(() => {
    if (!collection) return undefined;
    let here = true;
    setError(null);
    api.map(collection).then(
      (m) => {
        if (!here) return;
        setMap(m);
        setMissing(false);
        if (m.state === "queued" || m.state === "running") {
          waitForJob(m.job_id, (j) => here && setJob(j), { live: () => here }).then(
            () => here && setReload((x) => x + 1),
            (e) => here && setError(e),
          );
        } else {
          setJob(null);
        }
      },
      (e) => {
        if (!here) return;
        if (e instanceof ApiError && e.status === 404 && e.detail.code === "result_not_found") {
          setMissing(true);
          setMap(null);
        } else setError(e);
      },
    );
    return () => {
      here = false;
    };
  }, [collection, reload]);

  const compute = () => {
    setError(null);
    const words = vocabulary.split(/[,\n]/).map((w) => w.trim()).filter(Boolean);
    api.computeMap(collection, words.length ? { vocabulary: words } : {}).then(
      (r) => {
        setJob({ job_id: r.job_id, state: "queued", total: 0, done: 0, failed: 0, errors: [] });
        // Poll until the first (PCA) view is stored, then the map's own loader follows the job.
        waitForJob(r.job_id, (j) => {
          setJob(j);
          if (j.done > 0 && j.done * 2 >= j.total) setReload((x) => x + 1);
        }, { live: () => live.current }).then(() => live.current && setReload((x) => x + 1), setError);
      },
      setError,
    );
  };

  const highlight = prevent(() => {
    setRoute({ q: expr }, { replace: true });
    if (!expr.trim()) {
      setHits(new Set());
      setHitNote("");
      return;
    }
    api.search(collection, { expression: expr, limit: 100 }).then((r) => {
      setHits(new Set(r.hits.map((h) => h.id)));
      setHitNote(`The top ${r.hits.length} hits of ${r.query.expression}`);
      setError(null);
    }, setError);
  });

  const selectedSet = new Set(selected);
  const running = job && (job.state === "queued" || job.state === "running");
  const asTerm = () => {
    const term = selectionTerm(selected);
    setRoute({ view: undefined, q: route.q?.trim() ? `${route.q} + ${term}` : term });
  };

  return html`<section class="view view-map" aria-labelledby="map-title">
    <h1 id="map-title">Map</h1>
    <p class="lede">Every image of the collection in two dimensions: nearby points look alike. Drag a box to select.</p>
    <form class="inline map-tools" onSubmit=${prevent(compute)}>
      <label>Name clusters by <input value=${vocabulary} onInput=${withValue(setVocabulary)} size="30"
        placeholder="words, comma separated (default: alt-texts)" spellcheck="false" /></label>
      <button type="submit" disabled=${!!running || !collection}>${map ? "Recompute the map" : "Compute the map"}</button>
      ${running && html`<span class="job-progress" role="status">${map && !map.final ? "PCA view; UMAP " : "Map job "}
        ${job?.state} ${jobPercent(job)}</span>`}
    </form>
    <${ErrorNote} error=${error} />
    ${map?.stale && html`<p class="note stale-note" role="status">The collection changed since this map was made
      (${map.points.toLocaleString()} → ${map.current_points.toLocaleString()} points): recompute it.</p>`}
    ${missing && !running && html`<${Empty}>No map of this collection yet: compute it (PCA first, then UMAP).</${Empty}>`}
    ${map && html`<form class="inline" onSubmit=${highlight}>
        <label>Highlight the hits of <input value=${expr} onInput=${withValue(setExpr)} size="32"
          placeholder='"a red circle"' spellcheck="false" /></label>
        <button type="submit" class="secondary">Highlight</button>
        ${hitNote && html`<span class="hint" data-hits=${hits.size}>${hitNote}</span>`}
      </form>
      <p class="query-info" data-method=${map.method}>${map.ids.length.toLocaleString()} points ·
        ${map.method === "umap" ? "UMAP" : "PCA"}${map.final ? "" : " (a first view: UMAP is on its way)"}</p>
      <${MapCanvas} map=${map} hits=${hits} selected=${selectedSet} onSelect=${setSelected} />
      <ul class="map-clusters" aria-label="Clusters">
        ${map.clusters.map((c) => html`<li key=${c.id}><button type="button" class="small secondary" data-cluster=${c.id}
          style=${`border-left: 6px solid ${PALETTE[c.id % PALETTE.length]}`}
          onClick=${() => setSelected(map.ids.filter((_, i) => map.cluster[i] === c.id))}>
          ${c.label} <span class="muted">(${c.size})</span></button></li>`)}
      </ul>`}
    ${selected.length > 0 && html`<div class="map-selection" aria-live="polite">
      <p><strong data-selected=${selected.length}>${selected.length} selected</strong>
        <button type="button" class="small" onClick=${asTerm}>Search with the selection as a term</button>
        <button type="button" class="small secondary"
          onClick=${() => setRoute({ view: "bias", sel: selected.slice(0, 16) })}>Open in Bias probe</button>
        <button type="button" class="small secondary" onClick=${() => setSelected([])}>Clear</button></p>
      <ul class="picked" aria-label="Selected points">${selected.slice(0, 24).map((id) => html`<li key=${id} data-id=${id}>
        <${Thumb} collection=${collection} id=${id} size=${64} alt="" /></li>`)}</ul>
    </div>`}
  </section>`;
}
