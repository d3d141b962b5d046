// @ts-check
// Picking images for the bias and classify views: points selected in search (kept in the URL as
// ?sel=ID), the top results of an expression, or uploaded files (kept in this tab only).

import { useEffect, useState } from "preact/hooks";
import { api } from "../api.js";
import { ErrorNote, Thumb, UploadList } from "../components.js";
import { offerFiles, prevent, withFiles, withValue } from "../dom.js";
import { html } from "../html.js";
import { setRoute } from "../state.js";

/** @typedef {import("../components.js").Upload} Upload */

/** @param {{collection: string, selected: string[], uploads: Upload[], removeUpload: (i: number) => void}} props */
export function ImagePicker({ collection, selected, uploads, removeUpload }) {
  const [expr, setExpr] = useState("");
  const [k, setK] = useState("3");
  const [error, setError] = useState(/** @type {Error | null} */ (null));
  const addTop = prevent(() => {
    setError(null);
    api.search(collection, { expression: expr, limit: Number(k) || 3 }).then((r) => {
      const ids = [...selected];
      for (const h of r.hits) if (!ids.includes(h.id)) ids.push(h.id);
      setRoute({ sel: ids }, { replace: true });
    }, setError);
  });
  return html`<fieldset class="picker">
    <legend>Images (${selected.length + uploads.length})</legend>
    <form class="inline" onSubmit=${addTop}>
      <label>Add the top <input type="number" min="1" max="50" value=${k} size="3"
        onInput=${withValue(setK)} aria-label="how many" /></label>
      <label>of <input value=${expr} onInput=${withValue(setExpr)} placeholder='"a red circle"'
        required spellcheck="false" aria-label="expression to pick images with" /></label>
      <button type="submit" class="small">Add</button>
      <label class="file-button small">Upload…<input type="file" accept="image/*" multiple class="visually-hidden"
        onChange=${withFiles(offerFiles)} /></label>
    </form>
    <${ErrorNote} error=${error} />
    ${selected.length > 0 && html`<ul class="picked" aria-label="Selected points">
      ${selected.map((id) => html`<li key=${id} data-id=${id}>
        <${Thumb} collection=${collection} id=${id} size=${64} alt=${`point ${id}`} />
        <button type="button" class="icon" aria-label=${`Remove point ${id}`}
          onClick=${() => setRoute({ sel: selected.filter((x) => x !== id) }, { replace: true })}>×</button>
      </li>`)}
    </ul>`}
    <${UploadList} uploads=${uploads} onRemove=${removeUpload} />
    ${!selected.length && !uploads.length && html`<p class="hint">Select results in Search, add the top results of an
      expression, or drop image files here.</p>`}
  </fieldset>`;
}

/** The images as the API's classify/similarity take them: point references, then base64 uploads.
 * @param {string[]} selected @param {Upload[]} uploads @returns {import("../api.js").ImageRef[]} */
export function imageRefs(selected, uploads) {
  return [...selected.map((id) => ({ id })), ...uploads.map((u) => u.b64)];
}

/** A row label per image, in imageRefs' order: a point's alt-text (or file name) once `alts` has it,
 * else its short id; a label that repeats gets " (2)", " (3)" … so rows stay apart.
 * @param {string[]} selected @param {Upload[]} uploads @param {Record<string, string>} [alts] */
export function imageLabels(selected, uploads, alts = {}) {
  const raw = [...selected.map((id) => shorten(alts[id]) || `point ${id.slice(0, 8)}`), ...uploads.map((u) => u.name)];
  /** @type {Map<string, number>} */
  const seen = new Map();
  return raw.map((label) => {
    const n = (seen.get(label) || 0) + 1;
    seen.set(label, n);
    return n > 1 ? `${label} (${n})` : label;
  });
}

/** @param {string | undefined} text */
const shorten = (text) => (text && text.length > 48 ? `${text.slice(0, 47)}…` : text || "");

/** Each selected point's alt-text (else its file's name), fetched once per id.
 * @param {string} collection @param {string[]} ids @returns {Record<string, string>} */
export function usePointAlts(collection, ids) {
  const [alts, setAlts] = useState(/** @type {Record<string, string>} */ ({}));
  const key = ids.join(",");
  useEffect(() => {
    let live = true;
    for (const id of ids) {
      if (alts[id] !== undefined) continue;
      api.point(collection, id).then(
        (p) => {
          const text = String(p.payload?.alt_text || String(p.payload?.source || "").split("/").pop() || "");
          if (live) setAlts((a) => ({ ...a, [id]: text }));
        },
        () => undefined, // a point that is gone keeps its short id as the label
      );
    }
    return () => {
      live = false;
    };
  }, [collection, key]);
  return alts;
}
