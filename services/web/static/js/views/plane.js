// @ts-check
// The opposition plane: two oppositions as axes, every point of the collection placed at its exact
// deltas (x = sim(p, x.A) − sim(p, x.B), likewise y), the most extreme points of each quadrant listed,
// and a box selection that becomes an expression term (open in Search) or a subset of the plane.

import { useEffect, useMemo, useState } from "preact/hooks";
import { api } from "../api.js";
import { Empty, ErrorNote, Thumb } from "../components.js";
import { prevent, withValue } from "../dom.js";
import { pointArg } from "../expr.js";
import { altText } from "../grid.js";
import { html } from "../html.js";
import { useRequest } from "../request.js";
import { inBox, Scatter } from "../scatter.js";
import { setRoute } from "../state.js";
import { poleExpression } from "./opposition.js";

/**
 * @typedef {{id: string, x: number, y: number, payload: import("../api.js").Payload}} Extreme
 * @typedef {{x: "a" | "b", y: "a" | "b", count: number, extremes: Extreme[]}} Quadrant
 * @typedef {{points: {id: string, x: number, y: number}[], total: number, placed: number, sampled: boolean,
 *   seed: number, quadrants: Quadrant[], x_axis: {norm: number}, y_axis: {norm: number}}} PlaneResponse
 */

// Quadrants laid out as on the plane: top-left leans to x.B and y.A, top-right to x.A and y.A, ...
const QUADRANT_ORDER = ["ba", "aa", "bb", "ab"];
const TERM_POINTS = 8; // a selection becomes the sum of (at most) this many of its points

/** @param {{label: string, value: string, onInput: (v: string) => void, name: string, placeholder: string}} props */
function Pole({ label, value, onInput, name, placeholder }) {
  return html`<label>${label} <input name=${name} value=${value} onInput=${withValue(onInput)}
    placeholder=${placeholder} required spellcheck="false" /></label>`;
}

/** @param {{q: Quadrant, names: {xa: string, xb: string, ya: string, yb: string}, collection: string}} props */
function QuadrantList({ q, names, collection }) {
  const title = `${q.x === "a" ? names.xa : names.xb} × ${q.y === "a" ? names.ya : names.yb}`;
  return html`<section class="quadrant" data-quadrant=${`${q.x}${q.y}`} aria-label=${`Quadrant ${title}`}>
    <h3>${title} <span class="count">${q.count.toLocaleString()} points</span></h3>
    <ol class="strip">${q.extremes.map((e) => html`<li key=${e.id} data-id=${e.id} title=${altText(e)}>
      <${Thumb} collection=${collection} id=${e.id} size=${96} alt=${altText(e)} />
      <span class="coords">x ${e.x.toFixed(3)} · y ${e.y.toFixed(3)}</span></li>`)}</ol>
  </section>`;
}

/** @param {import("./index.js").ViewProps} props */
export function PlaneView({ route, collection }) {
  const [form, setForm] = useState({ xa: route.xa || "", xb: route.xb || "", ya: route.ya || "", yb: route.yb || "" });
  useEffect(() => setForm({ xa: route.xa || "", xb: route.xb || "", ya: route.ya || "", yb: route.yb || "" }),
    [route.xa, route.xb, route.ya, route.yb]);
  const names = { xa: route.xa || "", xb: route.xb || "", ya: route.ya || "", yb: route.yb || "" };
  const ready = collection && names.xa.trim() && names.xb.trim() && names.ya.trim() && names.yb.trim();
  const { result, error, busy } = useRequest(
    ready ? JSON.stringify([collection, names]) : "",
    (signal) => api.plane(collection, {
      x: { a: poleExpression(names.xa), b: poleExpression(names.xb) },
      y: { a: poleExpression(names.ya), b: poleExpression(names.yb) },
      extremes: 6,
    }, signal),
  );
  const [selected, setSelected] = useState(/** @type {Set<number>} */ (new Set()));
  const [only, setOnly] = useState(false);
  const [picked, setPicked] = useState(/** @type {number | null} */ (null));
  const plane = /** @type {PlaneResponse | null} */ (error ? null : result);

  const all = useMemo(() => {
    const pts = plane?.points ?? [];
    const xs = new Float32Array(pts.length), ys = new Float32Array(pts.length);
    pts.forEach((p, i) => {
      xs[i] = p.x;
      ys[i] = p.y;
    });
    return { xs, ys, ids: pts.map((p) => p.id) };
  }, [plane]);
  useEffect(() => {
    setSelected(new Set());
    setOnly(false);
    setPicked(null);
  }, [plane]);
  // "Only the selection": the same scatter over the selected points alone.
  const shown = useMemo(() => {
    if (!only || !selected.size) return all;
    const idx = [...selected].sort((a, b) => a - b);
    return { xs: Float32Array.from(idx, (i) => all.xs[i]), ys: Float32Array.from(idx, (i) => all.ys[i]),
      ids: idx.map((i) => all.ids[i]) };
  }, [all, only, selected]);
  const shownSelected = useMemo(() => (only ? new Set(shown.ids.map((_, i) => i)) : selected), [only, shown, selected]);

  const selIds = [...selected].map((i) => all.ids[i]);
  /** The selection's points nearest to its centre (in plane units): the term sums their images. */
  const termPoints = () => {
    const idx = [...selected];
    const cx = idx.reduce((s, i) => s + all.xs[i], 0) / idx.length;
    const cy = idx.reduce((s, i) => s + all.ys[i], 0) / idx.length;
    return idx.sort((a, b) => (all.xs[a] - cx) ** 2 + (all.ys[a] - cy) ** 2 - (all.xs[b] - cx) ** 2 - (all.ys[b] - cy) ** 2)
      .slice(0, TERM_POINTS).map((i) => all.ids[i]);
  };
  const asTerm = () => `(${termPoints().map((id) => `image(${pointArg(id)})`).join(" + ")})`;

  const submit = prevent(() => setRoute({ xa: form.xa.trim(), xb: form.xb.trim(), ya: form.ya.trim(), yb: form.yb.trim() }));
  /** @param {"xa" | "xb" | "ya" | "yb"} k @returns {(v: string) => void} */
  const set = (k) => (v) => setForm((f) => ({ ...f, [k]: v }));
  const pickedId = picked !== null ? shown.ids[picked] : null;
  return html`<section class="view view-plane" aria-labelledby="plane-title">
    <h1 id="plane-title">Opposition plane</h1>
    <p class="lede">Two oppositions as axes: every item sits at <var>x = sim(p, A) − sim(p, B)</var> on the first
      axis and at ${" "}<var>y</var>, likewise, on the second, computed exactly from the stored vectors.</p>
    <form class="plane-form" onSubmit=${submit}>
      <fieldset><legend>x axis</legend>
        <${Pole} label="A (right)" name="xa" value=${form.xa} onInput=${set("xa")} placeholder="large" />
        <${Pole} label="B (left)" name="xb" value=${form.xb} onInput=${set("xb")} placeholder="small" />
      </fieldset>
      <fieldset><legend>y axis</legend>
        <${Pole} label="A (top)" name="ya" value=${form.ya} onInput=${set("ya")} placeholder="snow" />
        <${Pole} label="B (bottom)" name="yb" value=${form.yb} onInput=${set("yb")} placeholder="night" />
      </fieldset>
      <button type="submit" disabled=${busy}>${busy ? "Placing…" : "Place"}</button>
    </form>
    <${ErrorNote} error=${error} />
    ${!plane && !error && !busy && html`<${Empty}>Name four poles — two oppositions — and place the collection.</${Empty}>`}
    ${plane && html`<p class="plane-info" role="status">
      ${plane.sampled ? `A seeded sample of ${plane.placed.toLocaleString()} of ${plane.total.toLocaleString()} items`
        : `All ${plane.total.toLocaleString()} items`} · ‖A − B‖ x ${plane.x_axis.norm.toFixed(3)},
      y ${plane.y_axis.norm.toFixed(3)} · scroll to zoom, drag to pan</p>
    <${Scatter} xs=${shown.xs} ys=${shown.ys} ids=${shown.ids} collection=${collection} selected=${shownSelected}
      xLabel=${[names.xa, names.xb]} yLabel=${[names.ya, names.yb]} highlight=${picked}
      onPick=${setPicked}
      onSelect=${(/** @type {import("../scatter.js").Box} */ box) => {
        if (only) return;
        setSelected(new Set(inBox(all.xs, all.ys, box)));
      }} />
    ${pickedId && html`<p class="picked" data-id=${pickedId}>
      <${Thumb} collection=${collection} id=${pickedId} size=${64} alt="" />
      <code>${pickedId}</code> · x ${shown.xs[/** @type {number} */ (picked)].toFixed(4)} ·
      y ${shown.ys[/** @type {number} */ (picked)].toFixed(4)}</p>`}
    ${selected.size > 0 && html`<section class="selection" aria-label="Selection">
      <p><strong data-selected=${selected.size}>${selected.size.toLocaleString()} selected</strong>
        <button type="button" class="small" onClick=${() => setRoute({ view: undefined, q: asTerm(), xa: "", xb: "",
          ya: "", yb: "" })}>Search with the selection</button>
        <button type="button" class="small secondary" onClick=${() => setOnly(!only)}>
          ${only ? "Show all points" : "Show only the selection"}</button>
        <button type="button" class="small secondary" onClick=${() => {
          setSelected(new Set());
          setOnly(false);
        }}>Clear</button>
        <button type="button" class="small secondary"
          onClick=${() => navigator.clipboard?.writeText(JSON.stringify(selIds))}>Copy ids</button></p>
      <p class="hint">As a term: <code data-term>${asTerm()}</code> (the ${Math.min(TERM_POINTS, selected.size)}
        selected items nearest the selection's centre).</p>
      <ol class="strip">${selIds.slice(0, 24).map((id) => html`<li key=${id} data-id=${id}>
        <${Thumb} collection=${collection} id=${id} size=${96} alt="" /></li>`)}</ol>
    </section>`}
    <div class="quadrants">${QUADRANT_ORDER.map((k) => plane.quadrants.find((q) => `${q.x}${q.y}` === k))
      .filter((q) => q !== undefined).map((q) => html`<${QuadrantList} key=${`${q?.x}${q?.y}`}
      q=${/** @type {Quadrant} */ (q)}
      names=${names} collection=${collection} />`)}</div>`}
  </section>`;
}
