// @ts-check
// The views registry: the one list the navigation, the page title and the router all read. Adding a
// view is one entry here (and its module). The first entry is the default: its URL has no ?view=.

import { BiasView } from "./bias.js";
import { ClassifyView } from "./classify.js";
import { DuplicatesView } from "./duplicates.js";
import { JobsView } from "./jobs.js";
import { MapView } from "./map.js";
import { MomentsView } from "./moments.js";
import { OppositionView } from "./opposition.js";
import { PathView } from "./path.js";
import { PlaneView } from "./plane.js";
import { SearchView } from "./search.js";
import { SweepView } from "./sweep.js";

/**
 * What the shell hands every view.
 * @typedef {{route: import("../state.js").Route, collection: string,
 *   uploads: import("../components.js").Upload[], addUploads: (files: File[]) => Promise<number>,
 *   removeUpload: (i: number) => void, uploadsVersion: number, reloadCollections: () => void}} ViewProps
 */

/**
 * @typedef {object} ViewSpec
 * @property {string} id the URL's ?view= value
 * @property {string} title the tab's and the page title's name
 * @property {import("preact").FunctionComponent<ViewProps>} component
 * @property {boolean} [worksWithoutCollection] usable before any collection exists (no "No collection yet" note)
 * @property {boolean} [ownFiles] takes dropped files itself (search turns them into upload(i) terms);
 *   otherwise the shell adds them to the uploads the view picks images from
 */

/** @type {readonly ViewSpec[]} */
export const VIEWS = [
  { id: "search", title: "Search", component: SearchView, ownFiles: true },
  { id: "opposition", title: "Opposition", component: OppositionView },
  { id: "plane", title: "Plane", component: PlaneView },
  { id: "sweep", title: "Sweep", component: SweepView },
  { id: "bias", title: "Bias probe", component: BiasView },
  { id: "classify", title: "Classify", component: ClassifyView },
  { id: "path", title: "Path", component: PathView },
  { id: "moments", title: "Moments", component: MomentsView },
  { id: "map", title: "Map", component: MapView },
  { id: "duplicates", title: "Duplicates", component: DuplicatesView },
  { id: "jobs", title: "Jobs", component: JobsView, worksWithoutCollection: true },
];

/** The view a ?view= value names; an unknown or missing one is the default. @param {string | undefined} id */
export function viewFor(id) {
  return VIEWS.find((v) => v.id === id) ?? VIEWS[0];
}

/** The ?view= value for a view: none for the default, so "/?q=…" stays the search URL. @param {ViewSpec} view */
export function viewParam(view) {
  return view === VIEWS[0] ? undefined : view.id;
}
