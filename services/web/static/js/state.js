// @ts-check
// All view state lives in the URL, so a link reproduces a view: /?collection=NAME&q=EXPRESSION opens
// search with its results. Views read `route` and write it back with setRoute (push or replace).
// Which views exist is the views registry's business (views/index.js); here `view` is just a key.

import { useEffect, useState } from "preact/hooks";

/**
 * The URL's keys (see docs/ui.md); every value is the text the URL holds, lists repeat the key.
 * @typedef {{view?: string, collection?: string, q?: string, vector?: string, limit?: string, filter?: string,
 *   a?: string, b?: string, sel?: string[], p?: string[], ra?: string, rb?: string, label?: string[],
 *   k?: string, from?: string, to?: string, steps?: string, xa?: string, xb?: string, ya?: string, yb?: string,
 *   term?: string, weights?: string, center?: string, rel?: string, minz?: string, moments?: string,
 *   video?: string}} Route
 */

// Keys each view owns; list-valued keys repeat (?p=a&p=b) so any text survives the round trip.
const LIST_KEYS = new Set(["p", "label", "sel"]);

/** @param {string} [search] @returns {Route} */
export function readRoute(search = location.search) {
  const params = new URLSearchParams(search);
  /** @type {Record<string, string | string[]>} */
  const route = {};
  for (const [k, v] of params) {
    if (LIST_KEYS.has(k)) route[k] = [.../** @type {string[]} */ (route[k] || []), v];
    else route[k] = v;
  }
  return route;
}

/** @param {Route} route @returns {string} "?k=v&…", or "" when nothing is set */
export function routeToSearch(route) {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(route)) {
    if (v === undefined || v === null || v === "") continue;
    if (Array.isArray(v)) v.forEach((x) => params.append(k, x));
    else params.set(k, String(v));
  }
  const s = params.toString();
  return s ? `?${s}` : "";
}

/** @type {Set<(route: Route) => void>} */
const listeners = new Set();

/** Merge `patch` into the URL state. `replace` for continuous edits (sliders), push for new queries.
 * A key set to undefined or "" leaves the URL.
 * @param {Route} patch @param {{replace?: boolean}} [options] */
export function setRoute(patch, { replace = false } = {}) {
  const next = { ...readRoute(), ...patch };
  const url = `${location.pathname}${routeToSearch(next)}`;
  if (url !== `${location.pathname}${location.search}`) {
    history[replace ? "replaceState" : "pushState"](null, "", url);
  }
  listeners.forEach((fn) => fn(readRoute()));
}

/** The URL state, re-rendering on setRoute and on Back/Forward. @returns {Route} */
export function useRoute() {
  const [route, setState] = useState(readRoute);
  useEffect(() => {
    /** @param {Route} r */
    const fn = (r) => setState(r);
    const pop = () => fn(readRoute());
    listeners.add(fn);
    window.addEventListener("popstate", pop);
    return () => {
      listeners.delete(fn);
      window.removeEventListener("popstate", pop);
    };
  }, []);
  return route;
}
