// @ts-check
// Signifier's UI: one page, its state in the URL (see state.js), one view at a time (views/index.js).

import { render } from "preact";
import { useCallback, useEffect, useRef, useState } from "preact/hooks";
import { api, getKey, onKeyNeeded, setKey } from "./api.js";
import { ErrorNote, KeyDialog, readImageFiles } from "./components.js";
import { offerFiles, withValue } from "./dom.js";
import { html } from "./html.js";
import { routeToSearch, setRoute, useRoute } from "./state.js";
import { VIEWS, viewFor, viewParam } from "./views/index.js";

/** @typedef {import("./api.js").Collection} Collection */
/** @typedef {import("./components.js").Upload} Upload */
/** @typedef {import("./views/index.js").ViewSpec} ViewSpec */

/** @param {{route: import("./state.js").Route, current: ViewSpec}} props */
function Nav({ route, current }) {
  const ref = useRef(/** @type {HTMLElement | null} */ (null));
  useEffect(() => {
    // On a phone the tabs scroll sideways: keep the current one in sight.
    ref.current?.querySelector('[aria-current="page"]')?.scrollIntoView({ block: "nearest", inline: "nearest" });
  }, [current]);
  return html`<nav class="views-nav" aria-label="Views" ref=${ref}><ul>
    ${VIEWS.map((v) => {
      const href = `/${routeToSearch({ collection: route.collection, view: viewParam(v), sel: route.sel })}`;
      /** @param {MouseEvent} e */
      const open = (e) => {
        if (e.metaKey || e.ctrlKey || e.shiftKey || e.button !== 0) return;
        e.preventDefault();
        setRoute({ view: viewParam(v) });
      };
      return html`<li key=${v.id}><a href=${href} aria-current=${v === current ? "page" : undefined}
        data-view=${v.id} onClick=${open}>${v.title}</a></li>`;
    })}
  </ul></nav>`;
}

/** @param {{collections: Collection[], value: string}} props */
function CollectionPicker({ collections, value }) {
  return html`<label class="collection-picker">
    <span>Collection</span>
    <select id="collection" value=${value || ""} onChange=${withValue((c) => setRoute({ collection: c }))}>
      ${!collections.length && html`<option value="">(none yet)</option>`}
      ${value && !collections.some((c) => c.name === value) && html`<option value=${value}>${value}</option>`}
      ${collections.map((c) => html`<option key=${c.name} value=${c.name}>${c.name} · ${c.points.toLocaleString()}</option>`)}
    </select>
  </label>`;
}

function App() {
  const route = useRoute();
  const view = viewFor(route.view);
  const [collections, setCollections] = useState(/** @type {Collection[]} */ ([]));
  const [loadError, setLoadError] = useState(/** @type {Error | null} */ (null));
  const [askingKey, setAskingKey] = useState(false);
  const [hasKey, setHasKey] = useState(!!getKey());
  const [uploads, setUploads] = useState(/** @type {Upload[]} */ ([]));
  const [uploadsVersion, setUploadsVersion] = useState(0);
  const [dropNote, setDropNote] = useState("");
  const [dragging, setDragging] = useState(false);
  const keyResolver = useRef(/** @type {((key: string | null) => void) | null} */ (null));

  useEffect(() => {
    onKeyNeeded(
      () =>
        new Promise(/** @param {(key: string | null) => void} resolve */ (resolve) => {
          keyResolver.current = resolve;
          setAskingKey(true);
        }),
    );
  }, []);
  /** @param {string | null} key */
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

  /** @param {File[]} files @returns {Promise<number>} how many were added */
  const addUploads = async (files) => {
    const { images, rejected } = await readImageFiles(files);
    setDropNote(rejected.length ? `Not added: ${rejected.join("; ")}` : "");
    if (images.length) {
      setUploads((u) => [...u, ...images]);
      setUploadsVersion((v) => v + 1);
    }
    return images.length;
  };
  /** @param {number} i */
  const removeUpload = (i) => {
    setUploads((u) => u.filter((_, j) => j !== i));
    setUploadsVersion((v) => v + 1);
  };

  // Views that take images listen for "signifier:files"; search adds its own upload terms.
  useEffect(() => {
    /** @param {Event} e */
    const onFiles = (e) => {
      if (!view.ownFiles) addUploads(/** @type {CustomEvent<File[]>} */ (e).detail);
    };
    window.addEventListener("signifier:files", onFiles);
    return () => window.removeEventListener("signifier:files", onFiles);
  }, [view]);

  /** @param {DragEvent} e */
  const onDrop = (e) => {
    e.preventDefault();
    setDragging(false);
    const files = [...(e.dataTransfer?.files || [])];
    if (files.length) offerFiles(files);
  };
  /** @param {DragEvent} e */
  const onDragOver = (e) => {
    if ([...(e.dataTransfer?.types || [])].includes("Files")) {
      e.preventDefault();
      setDragging(true);
    }
  };

  const collection = route.collection || "";
  const shared = { route, collection, uploads, addUploads, removeUpload, uploadsVersion, reloadCollections };
  const View = view.component;
  useEffect(() => {
    document.title = `${view.title}${collection ? ` · ${collection}` : ""} · Signifier`;
  }, [view, collection]);

  return html`<div class=${`shell${dragging ? " dragging" : ""}`} onDragOver=${onDragOver} onDrop=${onDrop}
      onDragLeave=${(/** @type {DragEvent} */ e) => e.relatedTarget === null && setDragging(false)}>
    <a class="skip" href="#main">Skip to content</a>
    <header class="top">
      <a class="brand" href="/" aria-label="Signifier home">Signifier</a>
      <${CollectionPicker} collections=${collections} value=${collection} />
      <${Nav} route=${route} current=${view} />
      ${hasKey && html`<button type="button" class="small secondary forget-key" onClick=${() => {
        setKey("");
        setHasKey(false);
        reloadCollections();
      }}>Forget API key</button>`}
    </header>
    <main id="main" tabindex="-1">
      <${ErrorNote} error=${loadError} />
      ${dropNote && html`<p class="error-note" role="alert">${dropNote}</p>`}
      ${!collection && !view.worksWithoutCollection && !loadError && html`<p class="empty">No collection yet: create one and
        ingest images in <a href="/?view=jobs">Jobs</a>, or run <code>make demo</code>.</p>`}
      <${View} ...${shared} />
    </main>
    ${dragging && html`<div class="drop-overlay" aria-hidden="true">Drop an image to use it in the query</div>`}
    <${KeyDialog} open=${askingKey} onSubmit=${answerKey} onCancel=${() => answerKey(null)} />
  </div>`;
}

const root = /** @type {HTMLElement} */ (document.getElementById("app"));
root.textContent = ""; // the "Loading…" placeholder; render() adds to what is there
render(html`<${App} />`, root);
