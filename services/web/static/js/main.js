// Signifier's UI: one page, its state in the URL (see state.js), one view at a time.

import { render } from "preact";
import { useCallback, useEffect, useRef, useState } from "preact/hooks";
import { api, getKey, onKeyNeeded, setKey } from "./api.js";
import { ErrorNote, KeyDialog, readImageFiles } from "./components.js";
import { html } from "./html.js";
import { routeToSearch, setRoute, useRoute, VIEWS } from "./state.js";
import { BiasView } from "./views/bias.js";
import { ClassifyView } from "./views/classify.js";
import { JobsView } from "./views/jobs.js";
import { OppositionView } from "./views/opposition.js";
import { PathView } from "./views/path.js";
import { SearchView } from "./views/search.js";

const TITLES = { search: "Search", opposition: "Opposition", bias: "Bias probe", classify: "Classify", path: "Path",
  jobs: "Jobs" };

function Nav({ route }) {
  const ref = useRef(null);
  useEffect(() => {
    // On a phone the tabs scroll sideways: keep the current one in sight.
    ref.current?.querySelector('[aria-current="page"]')?.scrollIntoView({ block: "nearest", inline: "nearest" });
  }, [route.view]);
  return html`<nav class="views-nav" aria-label="Views" ref=${ref}><ul>
    ${VIEWS.map((v) => {
      const href = `/${routeToSearch({ collection: route.collection, view: v, sel: route.sel })}`;
      return html`<li key=${v}><a href=${href} aria-current=${route.view === v ? "page" : undefined}
        data-view=${v} onClick=${(e) => {
          if (e.metaKey || e.ctrlKey || e.shiftKey || e.button !== 0) return;
          e.preventDefault();
          setRoute({ view: v });
        }}>${TITLES[v]}</a></li>`;
    })}
  </ul></nav>`;
}

function CollectionPicker({ collections, value }) {
  return html`<label class="collection-picker">
    <span>Collection</span>
    <select id="collection" value=${value || ""} onChange=${(e) => setRoute({ collection: e.currentTarget.value })}>
      ${!collections.length && html`<option value="">(none yet)</option>`}
      ${value && !collections.some((c) => c.name === value) && html`<option value=${value}>${value}</option>`}
      ${collections.map((c) => html`<option key=${c.name} value=${c.name}>${c.name} · ${c.points.toLocaleString()}</option>`)}
    </select>
  </label>`;
}

function App() {
  const route = useRoute();
  const [collections, setCollections] = useState([]);
  const [loadError, setLoadError] = useState(null);
  const [askingKey, setAskingKey] = useState(false);
  const [hasKey, setHasKey] = useState(!!getKey());
  const [uploads, setUploads] = useState([]);
  const [uploadsVersion, setUploadsVersion] = useState(0);
  const [dropNote, setDropNote] = useState("");
  const [dragging, setDragging] = useState(false);
  const keyResolver = useRef(null);

  useEffect(() => {
    onKeyNeeded(
      () =>
        new Promise((resolve) => {
          keyResolver.current = resolve;
          setAskingKey(true);
        }),
    );
  }, []);
  const answerKey = (key) => {
    setAskingKey(false);
    setHasKey(!!key || !!getKey());
    keyResolver.current?.(key);
    keyResolver.current = null;
  };

  const reloadCollections = useCallback(() => {
    api.collections().then(
      (r) => {
        setCollections(r.collections);
        setLoadError(null);
        setHasKey(!!getKey());
        const current = new URLSearchParams(location.search).get("collection");
        if (!current && r.collections.length) setRoute({ collection: r.collections[0].name }, { replace: true });
      },
      setLoadError,
    );
  }, []);
  useEffect(reloadCollections, []);

  const addUploads = async (files) => {
    const { images, rejected } = await readImageFiles(files);
    setDropNote(rejected.length ? `Not added: ${rejected.join("; ")}` : "");
    if (images.length) {
      setUploads((u) => [...u, ...images]);
      setUploadsVersion((v) => v + 1);
    }
    return images.length;
  };
  const removeUpload = (i) => {
    setUploads((u) => u.filter((_, j) => j !== i));
    setUploadsVersion((v) => v + 1);
  };

  // Views that take images listen for "signifier:files"; search adds its own upload terms.
  useEffect(() => {
    const onFiles = (e) => {
      if (route.view !== "search") addUploads(e.detail);
    };
    window.addEventListener("signifier:files", onFiles);
    return () => window.removeEventListener("signifier:files", onFiles);
  }, [route.view]);

  const onDrop = (e) => {
    e.preventDefault();
    setDragging(false);
    const files = [...(e.dataTransfer?.files || [])];
    if (files.length) window.dispatchEvent(new CustomEvent("signifier:files", { detail: files }));
  };
  const onDragOver = (e) => {
    if ([...(e.dataTransfer?.types || [])].includes("Files")) {
      e.preventDefault();
      setDragging(true);
    }
  };

  const collection = route.collection || "";
  const shared = { route, collection, uploads, addUploads, removeUpload, uploadsVersion, reloadCollections };
  const View = { search: SearchView, opposition: OppositionView, bias: BiasView, classify: ClassifyView,
    path: PathView, jobs: JobsView }[route.view];
  useEffect(() => {
    document.title = `${TITLES[route.view]}${collection ? ` · ${collection}` : ""} · Signifier`;
  }, [route.view, collection]);

  return html`<div class=${`shell${dragging ? " dragging" : ""}`} onDragOver=${onDragOver} onDrop=${onDrop}
      onDragLeave=${(e) => e.relatedTarget === null && setDragging(false)}>
    <a class="skip" href="#main">Skip to content</a>
    <header class="top">
      <a class="brand" href="/" aria-label="Signifier home">Signifier</a>
      <${CollectionPicker} collections=${collections} value=${collection} />
      <${Nav} route=${route} />
      ${hasKey && html`<button type="button" class="small secondary forget-key" onClick=${() => {
        setKey("");
        setHasKey(false);
        reloadCollections();
      }}>Forget API key</button>`}
    </header>
    <main id="main" tabindex="-1">
      <${ErrorNote} error=${loadError} what="Listing collections" />
      ${dropNote && html`<p class="error-note" role="alert">${dropNote}</p>`}
      ${!collection && route.view !== "jobs" && !loadError && html`<p class="empty">No collection yet: create one and
        ingest images in <a href="/?view=jobs">Jobs</a>, or run <code>make demo</code>.</p>`}
      <${View} ...${shared} />
    </main>
    ${dragging && html`<div class="drop-overlay" aria-hidden="true">Drop an image to use it in the query</div>`}
    <${KeyDialog} open=${askingKey} onSubmit=${answerKey} onCancel=${() => answerKey(null)} />
  </div>`;
}

const root = document.getElementById("app");
root.textContent = ""; // the "Loading…" placeholder; render() adds to what is there
render(html`<${App} />`, root);
