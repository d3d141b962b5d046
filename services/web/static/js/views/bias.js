// Bias probe: images × prompts as a similarity matrix (heatmap), the difference between two image rows
// (a group contrast) for each prompt, and the server's CSV of both.

import { useEffect, useRef, useState } from "preact/hooks";
import { api } from "../api.js";
import { Heatmap } from "../charts.js";
import { Empty, ErrorNote } from "../components.js";
import { html } from "../html.js";
import { setRoute } from "../state.js";
import { imageLabels, imageRefs, ImagePicker } from "./picker.js";

const DEFAULT_PROMPTS = ["a red shape", "a blue shape", "a large shape", "a small shape"];

function download(text, name) {
  const a = document.createElement("a");
  a.href = URL.createObjectURL(new Blob([text], { type: "text/csv" }));
  a.download = name;
  a.click();
  setTimeout(() => URL.revokeObjectURL(a.href), 1000);
}

export function BiasView({ route, collection, uploads, removeUpload }) {
  const selected = route.sel || [];
  const [prompts, setPrompts] = useState((route.p || DEFAULT_PROMPTS).join("\n"));
  const [result, setResult] = useState(null);
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const [run, setRun] = useState(0);
  const seq = useRef(0);
  const names = imageLabels(selected, uploads);
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
  useEffect(() => {
    if (!run) return;
    const my = ++seq.current;
    setBusy(true);
    setError(null);
    api
      .similarity(body())
      .then((r) => my === seq.current && setResult(r), (err) => my === seq.current && (setError(err), setResult(null)))
      .finally(() => my === seq.current && setBusy(false));
  }, [run, ra, rb]);

  const submit = (e) => {
    e.preventDefault();
    setRoute({ p: prompts.split("\n").map((x) => x.trim()).filter(Boolean) }, { replace: true });
    setRun((x) => x + 1);
  };
  const csv = () => api.similarity(body(), "text/csv").then((text) => download(text, "similarity.csv"), setError);
  const rowSelect = (key, value, label) => html`<label>${label} <select value=${value}
    onChange=${(e) => setRoute({ [key]: e.currentTarget.value }, { replace: true })}>
    ${result.rows.map((r, i) => html`<option value=${i} key=${i}>${r}</option>`)}</select></label>`;
  const contrast = result?.contrasts?.[0];

  return html`<section class="view view-bias" aria-labelledby="bias-title">
    <h1 id="bias-title">Bias probe</h1>
    <p class="lede">Images × prompts as a cosine-similarity matrix; the contrast row is the difference between two
      images (e.g. two composite faces) for each prompt.</p>
    <${ImagePicker} collection=${collection} selected=${selected} uploads=${uploads} removeUpload=${removeUpload} />
    <form onSubmit=${submit} class="stack">
      <label>Prompts, one per line <textarea rows="5" value=${prompts}
        onInput=${(e) => setPrompts(e.currentTarget.value)} required spellcheck="false"></textarea></label>
      <button type="submit" disabled=${busy || !n}>${busy ? "Computing…" : "Compute the matrix"}</button>
    </form>
    <${ErrorNote} error=${error} what="Similarity matrices (bias probing)" />
    ${!result && !error && html`<${Empty}>Pick two or more images and list prompts.</${Empty}>`}
    ${result && html`<div class="matrix-tools">
        ${result.rows.length >= 2 && html`<span class="inline">Contrast ${rowSelect("ra", ra, "row")}
          ${rowSelect("rb", rb, "minus row")}</span>`}
        <button type="button" class="secondary" onClick=${csv}>Download CSV</button>
      </div>
      <${Heatmap} rows=${result.rows} cols=${result.columns} values=${result.matrix} contrast=${contrast?.values}
        contrastLabel=${contrast ? `${contrast.a} − ${contrast.b}` : ""} rowHeader="image \\ prompt" />`}
  </section>`;
}
