// @ts-check
// Small shared pieces: thumbnails that work with API keys, error notes, the key prompt, uploads.

import { useEffect, useRef, useState } from "preact/hooks";
import { ApiError, fileToBase64, getKey, thumbSrc, thumbUrl } from "./api.js";
import { prevent } from "./dom.js";
import { html } from "./html.js";

/** @typedef {import("preact").ComponentChildren} Children */
/** An image the user added in this tab: its name, an object URL to show it, its base64 body to send.
 * @typedef {{name: string, url: string, b64: string}} Upload */

/** A point's thumbnail URL: the plain URL without a key; with one, an object URL of the image fetched with
 * the header ("" until it arrives, or when it fails). @param {string} collection @param {string} id
 * @param {number} size @returns {string} */
export function useThumbSrc(collection, id, size) {
  const [src, setSrc] = useState(() => (getKey() ? "" : thumbUrl(collection, id, size)));
  useEffect(() => {
    if (!getKey()) {
      setSrc(thumbUrl(collection, id, size));
      return undefined;
    }
    let url = "";
    let live = true;
    thumbSrc(collection, id, size)
      .then((u) => {
        url = u;
        if (live) setSrc(u);
      })
      .catch(() => live && setSrc(""));
    return () => {
      live = false;
      if (url.startsWith("blob:")) URL.revokeObjectURL(url);
    };
  }, [collection, id, size]);
  return src;
}

/** A point's thumbnail. Without a key a plain <img src>; with one, fetched with the header.
 * @param {{collection: string, id: string, size?: number, alt?: string, className?: string}} props */
export function Thumb({ collection, id, size = 256, alt = "", className = "" }) {
  const src = useThumbSrc(collection, id, size);
  return html`<img class=${`thumb ${className}`} src=${src || undefined} alt=${alt} loading="lazy" decoding="async"
    width=${size} height=${size} />`;
}

/** An API error shown where it happened. @param {{error: Error | null}} props */
export function ErrorNote({ error }) {
  if (!error) return null;
  const status = error instanceof ApiError ? error.status : undefined;
  return html`<p class="error-note" role="alert" data-status=${status}>
    ${status ? html`<strong>${status}</strong> ` : ""}${error.message}</p>`;
}

/** @param {{children: Children}} props */
export function Empty({ children }) {
  return html`<p class="empty">${children}</p>`;
}

/** The API-key dialog (server mode). The key is kept in sessionStorage only, never in the URL.
 * @param {{open: boolean, onSubmit: (key: string | null) => void, onCancel: () => void}} props */
export function KeyDialog({ open, onSubmit, onCancel }) {
  const ref = useRef(/** @type {HTMLDialogElement | null} */ (null));
  const input = useRef(/** @type {HTMLInputElement | null} */ (null));
  useEffect(() => {
    const d = ref.current;
    if (!d) return;
    if (open && !d.open) {
      d.showModal();
      input.current?.focus();
    } else if (!open && d.open) d.close();
  }, [open]);
  const submit = prevent(() => {
    const field = /** @type {HTMLInputElement} */ (input.current);
    const key = field.value.trim();
    field.value = "";
    onSubmit(key || null);
  });
  return html`<dialog ref=${ref} class="key-dialog" aria-labelledby="key-title" onCancel=${prevent(onCancel)}>
    <form method="dialog" onSubmit=${submit}>
      <h2 id="key-title">API key needed</h2>
      <p>This server asks for an API key. It is kept in this tab's session storage only.</p>
      <label>API key <input ref=${input} type="password" name="key" autocomplete="off" required /></label>
      <div class="row">
        <button type="button" class="secondary" onClick=${onCancel}>Cancel</button>
        <button type="submit">Use key</button>
      </div>
    </form>
  </dialog>`;
}

/** Uploaded files as removable thumbnails (object URLs made from the files themselves).
 * @param {{uploads: Upload[], onRemove?: (i: number) => void, label?: string}} props */
export function UploadList({ uploads, onRemove, label = "Uploads" }) {
  if (!uploads.length) return null;
  return html`<ul class="upload-list" aria-label=${label}>
    ${uploads.map(
      (u, i) => html`<li key=${u.url}>
        <img src=${u.url} alt=${u.name} width="64" height="64" />
        <span class="upload-name">upload(${i}) · ${u.name}</span>
        ${onRemove && html`<button type="button" class="icon" aria-label=${`Remove ${u.name}`}
          onClick=${() => onRemove(i)}>×</button>`}
      </li>`,
    )}
  </ul>`;
}

/** Turns dropped/picked files into uploads; only images, each checked for size.
 * @param {Iterable<File>} files @param {number} [maxBytes]
 * @returns {Promise<{images: Upload[], rejected: string[]}>} */
export async function readImageFiles(files, maxBytes = 20 * 1024 * 1024) {
  const out = [];
  const rejected = [];
  for (const f of files) {
    if (!f.type.startsWith("image/")) rejected.push(`${f.name}: not an image (${f.type || "unknown type"})`);
    else if (f.size > maxBytes) rejected.push(`${f.name}: ${f.size.toLocaleString()} bytes is too large`);
    else out.push({ name: f.name, url: URL.createObjectURL(f), b64: await fileToBase64(f) });
  }
  return { images: out, rejected };
}
