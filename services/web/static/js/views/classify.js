// @ts-check
// Classify: zero-shot labels in, softmax probabilities (with the model's logit scale) out, per image.

import { useState } from "preact/hooks";
import { api } from "../api.js";
import { Empty, ErrorNote, Thumb } from "../components.js";
import { prevent, withValue } from "../dom.js";
import { html } from "../html.js";
import { useRequest } from "../request.js";
import { setRoute } from "../state.js";
import { imageLabels, imageRefs, ImagePicker } from "./picker.js";

/** @param {string} s */
const splitList = (s) => s.split(/[\n,]/).map((x) => x.trim()).filter(Boolean);

/** @param {import("./index.js").ViewProps} props */
export function ClassifyView({ route, collection, uploads, removeUpload }) {
  const selected = route.sel || [];
  const [labels, setLabels] = useState((route.label || ["red", "green", "blue"]).join(", "));
  const [run, setRun] = useState(0);
  // Asked on "Classify" only: the labels as typed then, the images picked then.
  const { result, error, busy } = useRequest(run ? String(run) : "", () =>
    api.classify({ collection, images: imageRefs(selected, uploads), labels: splitList(labels) }),
  );
  const submit = prevent(() => {
    setRoute({ label: splitList(labels) }, { replace: true });
    setRun((x) => x + 1);
  });
  const names = imageLabels(selected, uploads);
  return html`<section class="view view-classify" aria-labelledby="classify-title">
    <h1 id="classify-title">Classify</h1>
    <${ImagePicker} collection=${collection} selected=${selected} uploads=${uploads} removeUpload=${removeUpload} />
    <form class="inline" onSubmit=${submit}>
      <label>Labels (comma or line separated) <input class="wide" value=${labels}
        onInput=${withValue(setLabels)} required /></label>
      <button type="submit" disabled=${busy || !(selected.length + uploads.length)}>${busy ? "Classifying…" : "Classify"}</button>
    </form>
    <${ErrorNote} error=${error} />
    ${!result && !error && html`<${Empty}>Pick images, name labels, and classify.</${Empty}>`}
    ${result && html`<ol class="classified">${result.results.map((r, i) => {
      const probs = Object.entries(r.probabilities).sort((x, y) => y[1] - x[1]);
      return html`<li key=${i} class="classified-item" data-top-label=${r.top_label}>
        ${i < selected.length ? html`<${Thumb} collection=${collection} id=${selected[i]} size=${128} alt=${names[i]} />`
          : html`<img class="thumb" src=${uploads[i - selected.length]?.url} alt=${names[i]} width="128" height="128" />`}
        <div>
          <p><strong>${r.top_label}</strong> <span class="hint">${names[i]}</span></p>
          <table class="probs"><caption class="visually-hidden">Probabilities for ${names[i]}</caption><tbody>
            ${probs.map(([label, p]) => html`<tr key=${label} data-label=${label} data-p=${p}>
              <th scope="row">${label}</th>
              <td class="bar-cell"><span class="bar pos" style=${`width:${p * 100}%`}></span></td>
              <td class="num">${(p * 100).toFixed(1)}%</td>
              <td class="num hint">${r.similarities[label]?.toFixed(3) ?? ""}</td></tr>`)}
          </tbody></table>
        </div>
      </li>`;
    })}</ol>`}
  </section>`;
}
