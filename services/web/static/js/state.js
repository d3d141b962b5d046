// All view state lives in the URL, so a link reproduces a view: /?collection=NAME&q=EXPRESSION opens
// search with its results. Views read `route` and write it back with setRoute (push or replace).

import { useEffect, useState } from "preact/hooks";

export const VIEWS = ["search", "opposition", "bias", "classify", "path", "jobs"];

// Keys each view owns; list-valued keys repeat (?p=a&p=b) so any text survives the round trip.
const LIST_KEYS = new Set(["p", "label", "sel"]);

export function readRoute(search = location.search) {
  const params = new URLSearchParams(search);
  const route = {};
  for (const [k, v] of params) {
    if (LIST_KEYS.has(k)) (route[k] = route[k] || []).push(v);
    else route[k] = v;
  }
  if (!VIEWS.includes(route.view)) route.view = "search";
  return route;
}

export function routeToSearch(route) {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(route)) {
    if (v === undefined || v === null || v === "" || (k === "view" && v === "search")) continue;
    if (Array.isArray(v)) v.forEach((x) => params.append(k, x));
    else params.set(k, String(v));
  }
  const s = params.toString();
  return s ? `?${s}` : "";
}

const listeners = new Set();

/** Merge `patch` into the URL state. `replace` for continuous edits (sliders), push for new queries. */
export function setRoute(patch, { replace = false } = {}) {
  const next = { ...readRoute(), ...patch };
  const url = `${location.pathname}${routeToSearch(next)}`;
  if (url !== `${location.pathname}${location.search}`) {
    history[replace ? "replaceState" : "pushState"](null, "", url);
  }
  listeners.forEach((fn) => fn(readRoute()));
}

export function useRoute() {
  const [route, setState] = useState(readRoute);
  useEffect(() => {
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
