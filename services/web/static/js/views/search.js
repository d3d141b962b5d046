// @ts-check
// Search: the expression box, its terms as chips with weight sliders, and the results grid.
// A slider edit rewrites the expression, replaces the URL and re-queries after a short pause.

import { useEffect, useLayoutEffect, useRef, useState } from "preact/hooks";
import { api, ApiError } from "../api.js";
import { Chips } from "../chips.js";
import { Empty, ErrorNote, UploadList } from "../components.js";
import { offerFiles, prevent, withFiles, withValue } from "../dom.js";
import { buildExpression, pointArg } from "../expr.js";
import { ExpressionBox } from "../expression-box.js";
import { ResultsGrid } from "../grid.js";
import { html } from "../html.js";
import { useRequest } from "../request.js";
import { setRoute } from "../state.js";

/** @typedef {import("../api.js").Concept} Concept */
/** @typedef {import("../api.js").Hit} Hit */
/** @typedef {import("../api.js").Term} Term */

const DEBOUNCE_MS = 250;

/** @param {{collection: string, expression: string, onInsert: (concept: string) => void}} props */
function ConceptsBar({ collection, expression, onInsert }) {
  const [concepts, setConcepts] = useState(/** @type {Concept[] | null} */ (null));
  const [name, setName] = useState("");
  const [error, setError] = useState(/** @type {Error | null} */ (null));
  const [saved, setSaved] = useState("");
  const load = () => api.concepts(collection).then((r) => setConcepts(r.concepts), () => setConcepts([]));
  useEffect(() => {
    if (collection) load();
  }, [collection]);
  if (concepts === null) return null; // not loaded yet
  const save = prevent(() => {
    setError(null);
    api.saveConcept(collection, name.trim(), expression).then(() => {
      setSaved(`saved @${name.trim()}`);
      setName("");
      load();
    }, setError);
  });
  return html`<section class="concepts" aria-label="Saved concepts">
    ${concepts.length > 0 && html`<span class="concepts-title">Concepts:</span>`}
    ${concepts.map((c) => html`<button type="button" class="small secondary" key=${c.name}
      title=${c.expression} onClick=${() => onInsert(`@${c.name}`)}>@${c.name}</button>`)}
    <form class="inline" onSubmit=${save}>
      <label>Save as concept @<input value=${name} pattern="[A-Za-z0-9_]+(-[A-Za-z0-9_]+)*" required size="10"
        onInput=${withValue(setName)} placeholder="name" /></label>
      <button type="submit" class="small" disabled=${!expression}>Save</button>
      <span class="saved" role="status">${saved}</span>
    </form>
    <${ErrorNote} error=${error} />
  </section>`;
}

/** A payload filter as JSON (Qdrant-shaped or the shorthand {"color": "blue"}), kept in the URL.
 * @param {{value: string}} props */
function FilterBox({ value }) {
  const [text, setText] = useState(value);
  const [problem, setProblem] = useState("");
  useEffect(() => setText(value), [value]);
  const apply = prevent(() => {
    const t = text.trim();
    if (!t) {
      setProblem("");
      setRoute({ filter: "" });
      return;
    }
    try {
      const parsed = JSON.parse(t);
      if (!parsed || typeof parsed !== "object" || Array.isArray(parsed)) throw new Error("a filter is a JSON object");
      setProblem("");
      setRoute({ filter: JSON.stringify(parsed) });
    } catch (err) {
      setProblem(`Not a JSON object: ${/** @type {Error} */ (err).message}`);
    }
  });
  return html`<details class="filter" open=${!!value}>
    <summary>Filter${value ? html` <code>${value}</code>` : ""}</summary>
    <form class="inline" onSubmit=${apply}>
      <label>Payload filter (JSON) <input class="wide mono" value=${text} spellcheck="false"
        placeholder='{"color": "blue", "shape": ["circle", "star"]}' onInput=${withValue(setText)}
        aria-invalid=${problem ? "true" : "false"} /></label>
      <button type="submit" class="small">Apply</button>
      ${value && html`<button type="button" class="small secondary" onClick=${() => setRoute({ filter: "" })}>
        Clear</button>`}
    </form>
    ${problem && html`<p class="error-note" role="alert">${problem}</p>`}
  </details>`;
}

/** A hit's relative score on its card. @param {Hit} h */
const relativeScore = (h) => h.z === undefined ? null : html`<span class="relative" data-z=${h.z}
  data-percentile=${h.percentile} title="z-score and percentile against the collection's scores for this query">
  z ${h.z.toFixed(2)} · p${Math.floor(h.percentile ?? 0)}</span>`;

/** @param {import("./index.js").ViewProps} props */
export function SearchView({ route, collection, uploads, addUploads, removeUpload, uploadsVersion }) {
  const q = route.q || "";
  const vector = route.vector === "text" ? "text" : "image";
  const limit = Math.min(Math.max(Number(route.limit) || 24, 1), 200);
  const filter = route.filter || "";
  const selected = route.sel || [];
  const center = route.center === "1";
  const relative = route.rel === "1";
  const minZ = relative && route.minz && Number.isFinite(Number(route.minz)) ? Number(route.minz) : null;
  const [text, setText] = useState(q);
  const [terms, setTerms] = useState(/** @type {Term[]} */ ([]));
  const [entered, setEntered] = useState(/** @type {Set<string>} */ (new Set()));
  const [left, setLeft] = useState(/** @type {Hit[]} */ ([]));
  const [run, setRun] = useState(0);
  const prevHits = useRef(/** @type {Hit[]} */ ([]));
  // The expression a slider wrote; its response must not reset the chips.
  const sliderExpr = useRef(/** @type {string | null} */ (null));
  const timer = useRef(/** @type {ReturnType<typeof setTimeout> | undefined} */ (undefined));

  useEffect(() => {
    if (q !== sliderExpr.current) setText(q);
  }, [q]);
  useEffect(() => {
    prevHits.current = [];
  }, [collection, vector]);

  const key = collection && q.trim() ? JSON.stringify([collection, q, vector, limit, filter, uploadsVersion, run, center, relative, minZ]) : "";
  // The last answer stays up while the next one runs (the grid animates from it) and under an error.
  const searched = useRequest(key, (signal) => {
    /** @type {Record<string, unknown>} */
    const body = { expression: q, vector, limit, explain: true };
    if (center) body.center = true;
    if (relative) body.relative = true;
    if (minZ !== null) body.min_z = minZ;
    if (filter) {
      try {
        body.filter = JSON.parse(filter);
      } catch {
        return Promise.reject(new ApiError(0, { message: `the filter in the URL is not valid JSON: ${filter}` }));
      }
    }
    if (uploads.length) body.uploads = uploads.map((u) => u.b64);
    return api.search(collection, body, signal);
  }, { keepPrevious: true });
  const { error, busy } = searched;
  // A failed query shows its error alone: the previous answer would read as this query's results.
  const result = error ? null : searched.result;
  const hits = result?.hits ?? [];
  const info = result?.query ?? null;
  const rel = result?.relative ?? null;

  // Each new answer: which cards entered, which left, and (unless a slider wrote it) the server's terms.
  // A layout effect, so the cards never paint with the previous answer's marks.
  useLayoutEffect(() => {
    if (!result) {
      setTerms([]);
      setLeft([]);
      return;
    }
    const old = prevHits.current;
    const oldIds = new Set(old.map((h) => h.id));
    const newIds = new Set(result.hits.map((h) => h.id));
    setEntered(old.length ? new Set(result.hits.filter((h) => !oldIds.has(h.id)).map((h) => h.id)) : new Set());
    setLeft(old.filter((h) => !newIds.has(h.id)));
    prevHits.current = result.hits;
    if (q !== sliderExpr.current) setTerms(result.query.terms);
  }, [result]);

  const submit = (expr = text) => {
    clearTimeout(timer.current);
    sliderExpr.current = null;
    setText(expr);
    if (expr === q) setRun((n) => n + 1); // the same text again: run it anyway (Enter means "search")
    else setRoute({ q: expr });
  };

  /** @param {number} i @param {number} w */
  const onWeight = (i, w) => {
    const next = terms.map((t, j) => (j === i ? { ...t, weight: w } : t));
    setTerms(next);
    const expr = buildExpression(next);
    setText(expr);
    sliderExpr.current = expr;
    clearTimeout(timer.current);
    timer.current = setTimeout(() => setRoute({ q: expr }, { replace: true }), DEBOUNCE_MS);
  };
  /** @param {number} i */
  const onRemove = (i) => {
    const next = terms.filter((_, j) => j !== i);
    submit(next.length ? buildExpression(next) : "");
  };
  /** @param {string} termText @param {number} weight */
  const addTerm = (termText, weight) => {
    const base = info ? terms : [];
    const k = base.findIndex((t) => t.text === termText);
    const next = k >= 0 ? base.map((t, j) => (j === k ? { ...t, weight: t.weight + weight } : t))
      : [...base, { text: termText, kind: "point", weight }];
    submit(buildExpression(next));
  };
  /** @param {string} id */
  const toggleSelect = (id) =>
    setRoute({ sel: selected.includes(id) ? selected.filter((x) => x !== id) : [...selected, id] }, { replace: true });

  // Files dropped on the page (or picked) become upload(i) terms.
  useEffect(() => {
    /** @param {Event} e */
    const onFiles = async (e) => {
      const start = uploads.length;
      const added = await addUploads(/** @type {CustomEvent<File[]>} */ (e).detail);
      if (!added) return;
      const extra = Array.from({ length: added }, (_, k) => `upload(${start + k})`).join(" + ");
      submit(text.trim() ? `${text} + ${extra}` : extra);
    };
    window.addEventListener("signifier:files", onFiles);
    return () => window.removeEventListener("signifier:files", onFiles);
  });

  const exprError = error instanceof ApiError && error.detail.code === "invalid_expression" ? error.detail : null;
  return html`<section class="view view-search" aria-labelledby="search-title">
    <h1 id="search-title" class="visually-hidden">Search</h1>
    <${ExpressionBox} value=${text} onInput=${setText} onSubmit=${() => submit()} error=${exprError} busy=${busy} />
    <div class="search-options">
      <fieldset class="inline">
        <legend class="visually-hidden">Search over</legend>
        <label><input type="radio" name="vector" checked=${vector === "image"}
          onChange=${() => setRoute({ vector: "" })} /> images</label>
        <label><input type="radio" name="vector" checked=${vector === "text"}
          onChange=${() => setRoute({ vector: "text" })} /> alt-texts</label>
      </fieldset>
      <label title="Subtract each modality's collection mean from the terms before mixing (the modality gap)">
        <input type="checkbox" name="center" checked=${center}
          onChange=${() => setRoute({ center: center ? "" : "1" })} /> center terms</label>
      <label title="Each hit's z-score and percentile against a seeded sample of the collection's scores">
        <input type="checkbox" name="relative" checked=${relative}
          onChange=${() => setRoute({ rel: relative ? "" : "1", minz: "" })} /> relative scores</label>
      ${relative && html`<label>min z <input type="number" name="min_z" step="0.5" class="narrow" value=${route.minz || ""}
        onChange=${withValue((v) => setRoute({ minz: v }))} /></label>`}
      <label class="file-button">Add an image…<input type="file" accept="image/*" multiple class="visually-hidden"
        onChange=${withFiles(offerFiles)} /></label>
      <span class="hint">or drop an image anywhere on the page</span>
    </div>
    <${FilterBox} value=${filter} />
    <${UploadList} uploads=${uploads} onRemove=${removeUpload} />
    <${Chips} terms=${terms} collection=${collection} uploads=${uploads} onWeight=${onWeight} onRemove=${onRemove} />
    ${info && html`<p class="query-info" aria-live="polite">
      <code data-canonical>${info.expression}</code> · ‖Σ wt‖ = ${info.norm.toFixed(3)} · ${hits.length} results
      ${info.centered ? " · centred" : ""}
      ${rel ? html` · <span class="relative-info" data-sample=${rel.sample}>z and percentile against a seeded sample
        of ${rel.sample.toLocaleString()} (mean ${rel.mean.toFixed(3)}, std ${rel.std.toFixed(3)})${rel.cut
        ? `, ${rel.cut} below min z hidden` : ""}</span>` : ""}
      ${busy ? " · updating…" : ""}</p>`}
    ${!exprError && html`<${ErrorNote} error=${error} />`}
    ${(result?.warnings?.length ?? 0) > 0 && html`<ul class="search-warnings" role="status">
      ${result?.warnings?.map((w, i) => html`<li key=${i}>${w}</li>`)}</ul>`}
    ${collection && html`<${ConceptsBar} collection=${collection} expression=${q}
      onInsert=${(/** @type {string} */ c) => submit(text.trim() ? `${text} + ${c}` : c)} />`}
    ${!q.trim() && html`<${Empty}>Type an expression — text in double quotes, weights, + and −, image(id),
      axis("a", "b") — and press Enter.</${Empty}>`}
    ${hits.length > 0 && html`<${ResultsGrid} hits=${hits} collection=${collection} entered=${entered} left=${left}
      onMore=${(/** @type {string} */ id) => addTerm(`image(${pointArg(id)})`, 0.5)}
      onLess=${(/** @type {string} */ id) => addTerm(`image(${pointArg(id)})`, -0.5)}
      selected=${selected} onToggleSelect=${toggleSelect} extra=${rel ? relativeScore : undefined} />`}
  </section>`;
}
