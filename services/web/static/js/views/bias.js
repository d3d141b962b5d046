// @ts-check
// Bias probe: images × prompts as a similarity matrix (heatmap), the difference between two image rows
// (a group contrast) for each prompt, and the server's CSV of both.

import { useState } from "preact/hooks";
import { api } from "../api.js";
import { Heatmap } from "../charts.js";
import { Empty, ErrorNote, Thumb } from "../components.js";
import { prevent, withValue } from "../dom.js";
import { html } from "../html.js";
import { useRequest } from "../request.js";
import { setRoute } from "../state.js";
import { imageLabels, imageRefs, ImagePicker, usePointAlts } from "./picker.js";

const DEFAULT_PROMPTS = ["a red shape", "a blue shape", "a large shape", "a small shape"];

/** @param {string} text @param {string} name */
function download(text, name) {
  const a = document.createElement("a");
  a.href = URL.createObjectURL(new Blob([text], { type: "text/csv" }));
  a.download = name;
  a.click();
  setTimeout(() => URL.revokeObjectURL(a.href), 1000);
}

/** @param {import("./index.js").ViewProps} props */
export function BiasView({ route, collection, uploads, removeUpload }) {
  const selected = route.sel || [];
  const [prompts, setPrompts] = useState((route.p || DEFAULT_PROMPTS).join("\n"));
  const [run, setRun] = useState(0);
  const [csvError, setCsvError] = useState(/** @type {Error | null} */ (null));
  const alts = usePointAlts(collection, selected);
  const names = imageLabels(selected, uploads, alts);
  // A thumbnail before each row's label: the points, then the uploads (imageRefs' order).
  const thumbs = [
    ...selected.map((id) => html`<${Thumb} collection=${collection} id=${id} size=${64} alt="" className="row-thumb" />`),
    ...uploads.map((u) => html`<img class="thumb row-thumb" src=${u.url} alt="" width="64" height="64" />`),
  ];
  const n = names.length;
  const ra = Math.min(Number(route.ra ?? 0), Math.max(n - 1, 0));
  const rb = Math.min(Number(route.rb ?? 1), Math.max(n - 1, 0));

  const body = () => ({
    collection,
    images: imageRefs(selected, uploads),
    texts: route.p || DEFAULT_PROMPTS,
    row_labels: names,
    contrasts: n >= 2 && ra !== rb ? [[ra, rb]] : [],
  });

  // Runs on "Compute" and again when the contrast rows change, so what is shown is the server's answer.
  const matrix = useRequest(run ? `${run}\n${ra}\n${rb}` : "", () => api.similarity(body()));
  const result = matrix.result;
  const error = matrix.error ?? csvError;
  const busy = matrix.busy;

  const submit = prevent(() => {
    setCsvError(null);
    setRoute({ p: prompts.split("\n").map((x) => x.trim()).filter(Boolean) }, { replace: true });
    setRun((x) => x + 1);
  });
  const csv = () => {
    setCsvError(null);
    api.similarityCsv(body()).then((text) => download(text, "similarity.csv"), setCsvError);
  };
  /** @param {"ra" | "rb"} key @param {number} value @param {string} label @param {string[]} rows */
  const rowSelect = (key, value, label, rows) => html`<label>${label} <select value=${value}
    onChange=${withValue((v) => setRoute({ [key]: v }, { replace: true }))}>
    ${rows.map((r, i) => html`<option value=${i} key=${i}>${r}</option>`)}</select></label>`;
  const contrast = result?.contrasts?.[0];

  return html`<section class="view view-bias" aria-labelledby="bias-title">
    <h1 id="bias-title">Bias probe</h1>
    <p class="lede">Images × prompts as a cosine-similarity matrix; the contrast row is the difference between two
      images (e.g. two composite faces) for each prompt.</p>
    <${ImagePicker} collection=${collection} selected=${selected} uploads=${uploads} removeUpload=${removeUpload} />
    <form onSubmit=${submit} class="stack">
      <label>Prompts, one per line <textarea rows="5" value=${prompts}
        onInput=${withValue(setPrompts)} required spellcheck="false"></textarea></label>
      <button type="submit" disabled=${busy || !n}>${busy ? "Computing…" : "Compute the matrix"}</button>
    </form>
    <${ErrorNote} error=${error} />
    ${!result && !error && html`<${Empty}>Pick two or more images and list prompts.</${Empty}>`}
    ${result && html`<div class="matrix-tools">
        ${result.rows.length >= 2 && html`<span class="inline">Contrast ${rowSelect("ra", ra, "row", result.rows)}
          ${rowSelect("rb", rb, "minus row", result.rows)}</span>`}
        <button type="button" class="secondary" onClick=${csv}>Download CSV</button>
      </div>
      <${Heatmap} rows=${result.rows} cols=${result.columns} values=${result.matrix} contrast=${contrast?.values} rowThumbs=${thumbs}
        contrastLabel=${contrast ? `${contrast.a} − ${contrast.b}` : ""} rowHeader="image \\ prompt" />`}
  </section>`;
}
