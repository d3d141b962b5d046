// The REST client: one fetch wrapper that adds the API key, turns error bodies into ApiError, and
// asks for the key (once, kept in sessionStorage only) when the server answers 401.

const KEY_STORAGE = "signifier.apiKey";

export class ApiError extends Error {
  /** @param {number} status @param {object} detail the server's {"code", "message", ...} */
  constructor(status, detail) {
    super(detail?.message || `HTTP ${status}`);
    this.status = status;
    this.detail = detail || {};
  }
  /** True when this server has no such route (an older server, or a feature not deployed). */
  get missing() {
    return this.status === 405 || (this.status === 404 && this.detail.code === undefined);
  }
}

export function getKey() {
  return sessionStorage.getItem(KEY_STORAGE) || "";
}
export function setKey(key) {
  if (key) sessionStorage.setItem(KEY_STORAGE, key);
  else sessionStorage.removeItem(KEY_STORAGE);
}

// The app installs a prompt: async () => key | null. Concurrent 401s share one prompt.
let askForKey = async () => null;
let pendingAsk = null;
export function onKeyNeeded(fn) {
  askForKey = fn;
}

async function request(method, path, { json, form, accept, signal } = {}, retried = false) {
  const headers = {};
  const key = getKey();
  if (key) headers.Authorization = `Bearer ${key}`;
  if (accept) headers.Accept = accept;
  let body;
  if (json !== undefined) {
    headers["Content-Type"] = "application/json";
    body = JSON.stringify(json);
  } else if (form) {
    body = form;
  }
  const res = await fetch(path, { method, headers, body, signal });
  if (res.status === 401 && !retried) {
    pendingAsk = pendingAsk || askForKey().finally(() => (pendingAsk = null));
    const newKey = await pendingAsk;
    if (newKey) {
      setKey(newKey);
      return request(method, path, { json, form, accept, signal }, true);
    }
  }
  if (!res.ok) {
    let detail;
    try {
      detail = (await res.json()).detail;
    } catch {
      detail = { message: `${res.status} ${res.statusText}` };
    }
    if (typeof detail === "string") detail = { message: detail };
    throw new ApiError(res.status, detail);
  }
  if (res.status === 204) return null;
  const type = res.headers.get("content-type") || "";
  return type.includes("json") ? res.json() : res.text();
}

const enc = encodeURIComponent;

export const api = {
  health: () => request("GET", "/healthz"),
  collections: () => request("GET", "/v1/collections"),
  createCollection: (name) => request("POST", "/v1/collections", { json: { name } }),
  search: (collection, body, signal) =>
    request("POST", `/v1/collections/${enc(collection)}/search`, { json: body, signal }),
  oppositions: (collection, body) => request("POST", `/v1/collections/${enc(collection)}/oppositions`, { json: body }),
  path: (collection, body) => request("POST", `/v1/collections/${enc(collection)}/path`, { json: body }),
  classify: (body) => request("POST", "/v1/classify", { json: body }),
  similarity: (body, accept) => request("POST", "/v1/similarity", { json: body, accept }),
  point: (collection, id) => request("GET", `/v1/collections/${enc(collection)}/points/${enc(id)}`),
  concepts: (collection) => request("GET", `/v1/collections/${enc(collection)}/concepts`),
  saveConcept: (collection, name, expression) =>
    request("PUT", `/v1/collections/${enc(collection)}/concepts/${enc(name)}`, { json: { expression } }),
  ingestPath: (collection, path) => request("POST", `/v1/collections/${enc(collection)}/ingest`, { json: { path } }),
  ingestFiles: (collection, form) => request("POST", `/v1/collections/${enc(collection)}/ingest`, { form }),
  job: (id) => request("GET", `/v1/jobs/${enc(id)}`),
  jobs: (collection) => request("GET", `/v1/jobs?collection=${enc(collection)}&limit=20`),
  cancelJob: (id) => request("DELETE", `/v1/jobs/${enc(id)}`),
};

/** The URL of a point's thumbnail. Images are fetched by <img>, which cannot send the key header, so
 * in server mode thumbnails come through fetch() + object URLs (see useThumb in components). */
export function thumbUrl(collection, id, size = 256) {
  return `/v1/collections/${enc(collection)}/points/${enc(id)}/image?size=${size}`;
}

/** Fetch a thumbnail with the key and return an object URL (server mode), or the plain URL. */
export async function thumbSrc(collection, id, size = 256) {
  const url = thumbUrl(collection, id, size);
  const key = getKey();
  if (!key) return url;
  const res = await fetch(url, { headers: { Authorization: `Bearer ${key}` } });
  if (!res.ok) throw new ApiError(res.status, { message: `thumbnail ${res.status}` });
  return URL.createObjectURL(await res.blob());
}

/** A File → its base64 body (no data: prefix), as the API's `uploads` and `images` take it. */
export function fileToBase64(file) {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(String(reader.result).replace(/^data:[^,]*,/, ""));
    reader.onerror = () => reject(reader.error);
    reader.readAsDataURL(file);
  });
}
