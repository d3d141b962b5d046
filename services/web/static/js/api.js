// @ts-check
// The REST client: one fetch wrapper that adds the API key, turns error bodies into ApiError, and
// asks for the key (once, kept in sessionStorage only) when the server answers 401. The typedefs
// below are the shapes of the server's answers this UI reads (docs/api.md has them all).

/**
 * @typedef {{code?: string, message?: string, position?: number, expression?: string}} ErrorDetail
 *   the server's error body (`{"detail": {...}}`); `position`/`expression` come with a parse error
 * @typedef {{name: string, points: number}} Collection
 * @typedef {{text: string, kind: string, weight: number}} Term  one weighted term of a parsed expression
 * @typedef {{expression: string, norm: number, terms: Term[]}} QueryInfo  the server's reading of an expression
 * @typedef {Record<string, unknown>} Payload
 * @typedef {{id: string, score: number, payload?: Payload, contributions?: Record<string, number> | null,
 *   z?: number, percentile?: number, relative_score?: number}} Hit  z/percentile: with relative scores
 * @typedef {{sample: number, seed: number, points: number, mean: number, std: number, background: string[],
 *   cut: number}} RelativeInfo  the stated sample relative scores come from
 * @typedef {{video_id: string | null, score: number, source: string | null, duration: number | null,
 *   moments: Hit[]}} VideoGroup  one video and its best moments (with group_by "video"; null id: an image)
 * @typedef {{hits: Hit[], query: QueryInfo & {centered?: boolean}, relative?: RelativeInfo,
 *   groups?: VideoGroup[], warnings?: string[]}} SearchResponse  warnings: what may explain few or no hits
 * @typedef {{id: string, delta: number, sim_a: number, sim_b: number, payload: Payload}} PoleHit
 * @typedef {{edges: number[], counts: number[], points: number, mean: number, std: number}} HistogramData
 * @typedef {{a: {hits: PoleHit[]}, b: {hits: PoleHit[]}, histogram: HistogramData | null}} OppositionResponse
 * @typedef {{a: string, b: string, values: number[]}} Contrast
 * @typedef {{rows: string[], columns: string[], matrix: number[][], contrasts: Contrast[]}} SimilarityResponse
 * @typedef {{top_label: string, probabilities: Record<string, number>, similarities: Record<string, number>}}
 *   Classification
 * @typedef {{results: Classification[]}} ClassifyResponse
 * @typedef {{id: string, payload: Payload, step?: number, t?: number, score?: number}} PathPoint
 *   a point of an ordered path (`step`) or of a walk (`t`, `score`)
 * @typedef {{order: PathPoint[], length: number, input_length: number, walk: PathPoint[] | null}} PathResponse
 * @typedef {{item: string, reason: string}} ItemError
 * @typedef {"queued" | "running" | "done" | "failed" | "cancelled"} JobState
 * @typedef {{job_id: string, state: JobState, total: number, done: number, failed: number, errors: ItemError[],
 *   skipped?: number, errors_omitted?: number, message?: string | null, source?: {kind?: string, path?: string}}} Job
 *   ``skipped``: items of ``done`` already stored before (a re-ingest); ``errors_omitted``: failures not listed
 * @typedef {{name: string, expression: string}} Concept
 * @typedef {string | {id: string}} ImageRef  a base64 upload, or a point of the request's collection
 * @typedef {{job_id: string, state: JobState, points: number, current_points: number, stale: boolean}} ResultStatus
 * @typedef {{id: number, label: string, size: number, words: string[], x: number, y: number,
 *   probability?: number | null}} MapCluster
 * @typedef {ResultStatus & {method: "pca" | "umap", final: boolean, ids: string[], x: number[], y: number[],
 *   cluster: number[], clusters: MapCluster[]}} CollectionMap  the map's points as parallel arrays, x and y in [0, 1]
 * @typedef {{ids: string[], exact: boolean, min_similarity: number, max_similarity: number}} DuplicateGroup
 * @typedef {ResultStatus & {threshold: number, compared: number, total_groups: number, duplicates: number,
 *   groups: DuplicateGroup[]}} Duplicates
 */

const KEY_STORAGE = "signifier.apiKey";

export class ApiError extends Error {
  /** @param {number} status @param {ErrorDetail | undefined} detail the server's {"code", "message", ...} */
  constructor(status, detail) {
    super(detail?.message || `HTTP ${status}`);
    this.status = status;
    /** @type {ErrorDetail} */
    this.detail = detail || {};
  }
}

/** @returns {string} the API key this tab holds, or "" */
export function getKey() {
  return sessionStorage.getItem(KEY_STORAGE) || "";
}
/** @param {string} key "" forgets it */
export function setKey(key) {
  if (key) sessionStorage.setItem(KEY_STORAGE, key);
  else sessionStorage.removeItem(KEY_STORAGE);
}

/** @typedef {() => Promise<string | null>} KeyPrompt */

// The app installs a prompt: async () => key | null. Concurrent 401s share one prompt.
/** @type {KeyPrompt} */
let askForKey = async () => null;
/** @type {Promise<string | null> | null} */
let pendingAsk = null;
/** @param {KeyPrompt} fn */
export function onKeyNeeded(fn) {
  askForKey = fn;
}

/**
 * @typedef {{json?: unknown, form?: FormData, accept?: string, signal?: AbortSignal}} RequestOptions
 */

/**
 * One API call. The answer's type is the caller's to name (see the typedefs above).
 * @param {string} method @param {string} path @param {RequestOptions} [options] @param {boolean} [retried]
 * @returns {Promise<any>} the JSON body, the text body, or null for 204
 */
async function request(method, path, { json, form, accept, signal } = {}, retried = false) {
  /** @type {Record<string, string>} */
  const headers = {};
  const key = getKey();
  if (key) headers.Authorization = `Bearer ${key}`;
  if (accept) headers.Accept = accept;
  /** @type {BodyInit | undefined} */
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
    /** @type {ErrorDetail | string | undefined} */
    let detail;
    try {
      detail = (await res.json()).detail;
    } catch {
      detail = { message: `${res.status} ${res.statusText}` };
    }
    throw new ApiError(res.status, typeof detail === "string" ? { message: detail } : detail);
  }
  if (res.status === 204) return null;
  const type = res.headers.get("content-type") || "";
  return type.includes("json") ? res.json() : res.text();
}

const enc = encodeURIComponent;

export const api = {
  /** @returns {Promise<{collections: Collection[]}>} */
  collections: () => request("GET", "/v1/collections"),
  /** @param {string} name @returns {Promise<Collection>} */
  createCollection: (name) => request("POST", "/v1/collections", { json: { name } }),
  /** @param {string} collection @param {object} body @param {AbortSignal} [signal] @returns {Promise<SearchResponse>} */
  search: (collection, body, signal) =>
    request("POST", `/v1/collections/${enc(collection)}/search`, { json: body, signal }),
  /** @param {string} collection @param {object} body @returns {Promise<OppositionResponse>} */
  oppositions: (collection, body) => request("POST", `/v1/collections/${enc(collection)}/oppositions`, { json: body }),
  /** @param {string} collection @param {object} body @param {AbortSignal} [signal] @returns {Promise<any>} */
  plane: (collection, body, signal) =>
    request("POST", `/v1/collections/${enc(collection)}/plane`, { json: body, signal }),
  /** @param {string} collection @param {object} body @param {AbortSignal} [signal] @returns {Promise<any>} */
  sweep: (collection, body, signal) =>
    request("POST", `/v1/collections/${enc(collection)}/sweep`, { json: body, signal }),
  /** @param {string} collection @param {object} body @returns {Promise<PathResponse>} */
  path: (collection, body) => request("POST", `/v1/collections/${enc(collection)}/path`, { json: body }),
  /** @param {object} body @returns {Promise<ClassifyResponse>} */
  classify: (body) => request("POST", "/v1/classify", { json: body }),
  /** @param {object} body @returns {Promise<SimilarityResponse>} */
  similarity: (body) => request("POST", "/v1/similarity", { json: body }),
  /** The same matrix as the server's CSV. @param {object} body @returns {Promise<string>} */
  similarityCsv: (body) => request("POST", "/v1/similarity", { json: body, accept: "text/csv" }),
  /** @param {string} collection @param {object} body @returns {Promise<{job_id: string}>} */
  computeMap: (collection, body) => request("POST", `/v1/collections/${enc(collection)}/map`, { json: body }),
  /** @param {string} collection @returns {Promise<CollectionMap>} */
  map: (collection) => request("GET", `/v1/collections/${enc(collection)}/map`),
  /** @param {string} collection @param {object} body @returns {Promise<{job_id: string}>} */
  findDuplicates: (collection, body) =>
    request("POST", `/v1/collections/${enc(collection)}/duplicates`, { json: body }),
  /** @param {string} collection @returns {Promise<Duplicates>} */
  duplicates: (collection) => request("GET", `/v1/collections/${enc(collection)}/duplicates?limit=1000`),
  /** @param {string} collection @param {string} id @returns {Promise<{id: string, payload: Payload}>} */
  point: (collection, id) => request("GET", `/v1/collections/${enc(collection)}/points/${enc(id)}`),
  /** @param {string} collection @returns {Promise<{concepts: Concept[]}>} */
  concepts: (collection) => request("GET", `/v1/collections/${enc(collection)}/concepts`),
  /** @param {string} collection @param {string} name @param {string} expression @returns {Promise<Concept>} */
  saveConcept: (collection, name, expression) =>
    request("PUT", `/v1/collections/${enc(collection)}/concepts/${enc(name)}`, { json: { expression } }),
  /** @param {string} collection @param {string} path @returns {Promise<Job>} */
  ingestPath: (collection, path) => request("POST", `/v1/collections/${enc(collection)}/ingest`, { json: { path } }),
  /** @param {string} collection @param {FormData} form @returns {Promise<Job>} */
  ingestFiles: (collection, form) => request("POST", `/v1/collections/${enc(collection)}/ingest`, { form }),
  /** @param {string} id @returns {Promise<Job>} */
  job: (id) => request("GET", `/v1/jobs/${enc(id)}`),
  /** @param {string} collection @returns {Promise<{jobs: Job[]}>} */
  jobs: (collection) => request("GET", `/v1/jobs?collection=${enc(collection)}&limit=20`),
  /** @param {string} id @returns {Promise<Job>} */
  cancelJob: (id) => request("DELETE", `/v1/jobs/${enc(id)}`),
};

/** The URL of a point's thumbnail. Images are fetched by <img>, which cannot send the key header, so
 * in server mode thumbnails come through fetch() + object URLs (see Thumb in components).
 * @param {string} collection @param {string} id @param {number} [size] */
export function thumbUrl(collection, id, size = 256) {
  return `/v1/collections/${enc(collection)}/points/${enc(id)}/image?size=${size}`;
}

/** The URL a <video> plays a film from: the stream route (206 range requests, so the browser can seek).
 * Only video.js's FilmPlayer uses it (through videoSrc).
 * @param {string} collection @param {string} videoId */
export function videoUrl(collection, videoId) {
  return `/v1/collections/${enc(collection)}/videos/${enc(videoId)}/stream`;
}

/** What a <video> plays: the stream route itself without a key; with one (which a <video> cannot send), a
 * signed, short-lived link to this one video from ``…/stream-url`` (docs/video.md, "Playback").
 * @param {string} collection @param {string} videoId @returns {Promise<string>} */
export async function videoSrc(collection, videoId) {
  if (!getKey()) return videoUrl(collection, videoId);
  /** @type {{url: string}} */
  const link = await request("GET", `${videoUrl(collection, videoId)}-url`);
  return link.url;
}

/** Fetch a thumbnail with the key and return an object URL (server mode), or the plain URL.
 * @param {string} collection @param {string} id @param {number} [size] @returns {Promise<string>} */
export async function thumbSrc(collection, id, size = 256) {
  const url = thumbUrl(collection, id, size);
  const key = getKey();
  if (!key) return url;
  const res = await fetch(url, { headers: { Authorization: `Bearer ${key}` } });
  if (!res.ok) throw new ApiError(res.status, { message: `thumbnail ${res.status}` });
  return URL.createObjectURL(await res.blob());
}

/** A File → its base64 body (no data: prefix), as the API's `uploads` and `images` take it.
 * @param {Blob} file @returns {Promise<string>} */
export function fileToBase64(file) {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(String(reader.result).replace(/^data:[^,]*,/, ""));
    reader.onerror = () => reject(reader.error);
    reader.readAsDataURL(file);
  });
}
