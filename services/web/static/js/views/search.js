// Search: the expression box, its terms as chips with weight sliders, and the results grid.
// A slider edit rewrites the expression, replaces the URL and re-queries after a short pause.

import { useEffect, useRef, useState } from "preact/hooks";
import { api, ApiError } from "../api.js";
import { Chips } from "../chips.js";
import { Empty, ErrorNote, UploadList } from "../components.js";
import { buildExpression, pointArg } from "../expr.js";
import { ExpressionBox } from "../expression-box.js";
import { ResultsGrid } from "../grid.js";
import { html } from "../html.js";
import { setRoute } from "../state.js";

const DEBOUNCE_MS = 250;

function ConceptsBar({ collection, expression, onInsert }) {
  const [concepts, setConcepts] = useState(null);
  const [name, setName] = useState("");
  const [error, setError] = useState(null);
  const [saved, setSaved] = useState("");
  const load = () =>
    api.concepts(collection).then((r) => setConcepts(r.concepts || []), (e) => setConcepts(e.missing ? false : []));
  useEffect(() => {
    if (collection) load();
  }, [collection]);
  if (concepts === false || concepts === null) return null; // no concepts on this server: nothing to offer
  const save = (e) => {
    e.preventDefault();
    setError(null);
    api.saveConcept(collection, name.trim(), expression).then(() => {
      setSaved(`saved @${name.trim()}`);
      setName("");
      load();
    }, setError);
  };
  return html`<section class="concepts" aria-label="Saved concepts">
    ${concepts.length > 0 && html`<span class="concepts-title">Concepts:</span>`}
    ${concepts.map((c) => html`<button type="button" class="small secondary" key=${c.name}
      title=${c.expression} onClick=${() => onInsert(`@${c.name}`)}>@${c.name}</button>`)}
    <form class="inline" onSubmit=${save}>
      <label>Save as concept @<input value=${name} pattern="[A-Za-z0-9_]+(-[A-Za-z0-9_]+)*" required size="10"
        onInput=${(e) => setName(e.currentTarget.value)} placeholder="name" /></label>
      <button type="submit" class="small" disabled=${!expression}>Save</button>
      <span class="saved" role="status">${saved}</span>
    </form>
    <${ErrorNote} error=${error} what="Saving concepts" />
  </section>`;
}

/** A payload filter as JSON (Qdrant-shaped or the shorthand {"color": "blue"}), kept in the URL. */
function FilterBox({ value }) {
  const [text, setText] = useState(value);
  const [problem, setProblem] = useState("");
  useEffect(() => setText(value), [value]);
  const apply = (e) => {
    e.preventDefault();
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
      setProblem(`Not a JSON object: ${err.message}`);
    }
  };
  return html`<details class="filter" open=${!!value}>
    <summary>Filter${value ? html` <code>${value}</code>` : ""}</summary>
    <form class="inline" onSubmit=${apply}>
      <label>Payload filter (JSON) <input class="wide mono" value=${text} spellcheck="false"
        placeholder='{"color": "blue", "shape": ["circle", "star"]}' onInput=${(e) => setText(e.currentTarget.value)}
        aria-invalid=${problem ? "true" : "false"} /></label>
      <button type="submit" class="small">Apply</button>
      ${value && html`<button type="button" class="small secondary" onClick=${() => setRoute({ filter: "" })}>
        Clear</button>`}
    </form>
    ${problem && html`<p class="error-note" role="alert">${problem}</p>`}
  </details>`;
}

export function SearchView({ route, collection, uploads, addUploads, removeUpload, uploadsVersion }) {
  const q = route.q || "";
  const vector = route.vector === "text" ? "text" : "image";
  const limit = Math.min(Math.max(Number(route.limit) || 24, 1), 200);
  const filter = route.filter || "";
  const selected = route.sel || [];
  const [text, setText] = useState(q);
  const [terms, setTerms] = useState([]);
  const [hits, setHits] = useState([]);
  const [entered, setEntered] = useState(new Set());
  const [left, setLeft] = useState([]);
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const [info, setInfo] = useState(null);
  const [run, setRun] = useState(0);
  const seq = useRef(0);
  const inflight = useRef(null);
  const prevHits = useRef([]);
  const sliderExpr = useRef(null); // the expression a slider wrote; its response must not reset the chips
  const timer = useRef(null);

  useEffect(() => {
    if (q !== sliderExpr.current) setText(q);
  }, [q]);
  useEffect(() => {
    prevHits.current = [];
  }, [collection, vector]);

  useEffect(() => {
    if (!collection || !q.trim()) {
      setHits([]);
      setTerms([]);
      setLeft([]);
      setError(null);
      setInfo(null);
      return;
    }
    const my = ++seq.current;
    inflight.current?.abort();
    const ctrl = new AbortController();
    inflight.current = ctrl;
    setBusy(true);
    const body = { expression: q, vector, limit, explain: true };
    if (filter) {
      try {
        body.filter = JSON.parse(filter);
      } catch {
        setBusy(false);
        setError(new ApiError(0, { message: `the filter in the URL is not valid JSON: ${filter}` }));
        return;
      }
    }
    if (uploads.length) body.uploads = uploads.map((u) => u.b64);
    api
      .search(collection, body, ctrl.signal)
      .then((res) => {
        if (my !== seq.current) return;
        const old = prevHits.current;
        const oldIds = new Set(old.map((h) => h.id));
        const newIds = new Set(res.hits.map((h) => h.id));
        setEntered(old.length ? new Set(res.hits.filter((h) => !oldIds.has(h.id)).map((h) => h.id)) : new Set());
        setLeft(old.filter((h) => !newIds.has(h.id)));
        prevHits.current = res.hits;
        setHits(res.hits);
        setInfo(res.query);
        setError(null);
        if (q !== sliderExpr.current) setTerms(res.query.terms);
      })
      .catch((err) => {
        if (err.name === "AbortError" || my !== seq.current) return;
        setError(err);
      })
      .finally(() => {
        if (my === seq.current) setBusy(false);
      });
  }, [collection, q, vector, limit, filter, uploadsVersion, run]);

  const submit = (expr = text) => {
    clearTimeout(timer.current);
    sliderExpr.current = null;
    setText(expr);
    if (expr === q) setRun((n) => n + 1); // the same text again: run it anyway (Enter means "search")
    else setRoute({ q: expr });
  };

  const onWeight = (i, w) => {
    const next = terms.map((t, j) => (j === i ? { ...t, weight: w } : t));
    setTerms(next);
    const expr = buildExpression(next);
    setText(expr);
    sliderExpr.current = expr;
    clearTimeout(timer.current);
    timer.current = setTimeout(() => setRoute({ q: expr }, { replace: true }), DEBOUNCE_MS);
  };
  const onRemove = (i) => {
    const next = terms.filter((_, j) => j !== i);
    submit(next.length ? buildExpression(next) : "");
  };
  const addTerm = (termText, weight) => {
    const base = info ? terms : [];
    const k = base.findIndex((t) => t.text === termText);
    const next = k >= 0 ? base.map((t, j) => (j === k ? { ...t, weight: t.weight + weight } : t))
      : [...base, { text: termText, kind: "point", weight }];
    submit(buildExpression(next));
  };
  const toggleSelect = (id) =>
    setRoute({ sel: selected.includes(id) ? selected.filter((x) => x !== id) : [...selected, id] }, { replace: true });

  // Files dropped on the page (or picked) become upload(i) terms.
  useEffect(() => {
    const onFiles = async (e) => {
      const start = uploads.length;
      const added = await addUploads(e.detail);
      if (!added) return;
      const extra = Array.from({ length: added }, (_, k) => `upload(${start + k})`).join(" + ");
      submit(text.trim() ? `${text} + ${extra}` : extra);
    };
    window.addEventListener("signifier:files", onFiles);
    return () => window.removeEventListener("signifier:files", onFiles);
  });

  const exprError = error?.detail?.code === "invalid_expression" ? error.detail : null;
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
      <label class="file-button">Add an image…<input type="file" accept="image/*" multiple class="visually-hidden"
        onChange=${(e) => {
          window.dispatchEvent(new CustomEvent("signifier:files", { detail: [...e.currentTarget.files] }));
          e.currentTarget.value = "";
        }} /></label>
      <span class="hint">or drop an image anywhere on the page</span>
    </div>
    <${FilterBox} value=${filter} />
    <${UploadList} uploads=${uploads} onRemove=${removeUpload} />
    <${Chips} terms=${terms} collection=${collection} uploads=${uploads} onWeight=${onWeight} onRemove=${onRemove} />
    ${info && html`<p class="query-info" aria-live="polite">
      <code data-canonical>${info.expression}</code> · ‖Σ wt‖ = ${info.norm.toFixed(3)} · ${hits.length} results
      ${busy ? " · updating…" : ""}</p>`}
    ${!exprError && html`<${ErrorNote} error=${error} what="Search" />`}
    ${collection && html`<${ConceptsBar} collection=${collection} expression=${q}
      onInsert=${(c) => submit(text.trim() ? `${text} + ${c}` : c)} />`}
    ${!q.trim() && html`<${Empty}>Type an expression — text in double quotes, weights, + and −, image(id),
      axis("a", "b") — and press Enter.</${Empty}>`}
    ${hits.length > 0 && html`<${ResultsGrid} hits=${hits} collection=${collection} entered=${entered} left=${left}
      onMore=${(id) => addTerm(`image(${pointArg(id)})`, 0.5)} onLess=${(id) => addTerm(`image(${pointArg(id)})`, -0.5)}
      selected=${selected} onToggleSelect=${toggleSelect} />`}
  </section>`;
}
