// @ts-check
// Duplicates: a job groups the collection's exact and near duplicates (cosine ≥ threshold over all
// pairs); each group is shown as a row of thumbnails to review.

import { useEffect, useRef, useState } from "preact/hooks";
import { api, ApiError } from "../api.js";
import { Empty, ErrorNote, Thumb } from "../components.js";
import { prevent, withValue } from "../dom.js";
import { altText } from "../grid.js";
import { html } from "../html.js";
import { jobPercent, waitForJob } from "../job-wait.js";

/** @typedef {import("../api.js").Duplicates} Duplicates */
/** @typedef {import("../api.js").Job} Job */

/** @param {import("./index.js").ViewProps} props */
export function DuplicatesView({ collection }) {
  const [result, setResult] = useState(/** @type {Duplicates | null} */ (null));
  const [missing, setMissing] = useState(false);
  const [error, setError] = useState(/** @type {Error | null} */ (null));
  const [job, setJob] = useState(/** @type {Job | null} */ (null));
  const [threshold, setThreshold] = useState("0.95");
  const [reload, setReload] = useState(0);
  const live = useRef(true);
  useEffect(() => () => {
    live.current = false;
  }, []);

  useEffect(() => {
    if (!collection) return undefined;
    let here = true;
    api.duplicates(collection).then(
      (d) => {
        if (!here) return;
        setResult(d);
        setMissing(false);
        setThreshold(String(d.threshold));
      },
      (e) => {
        if (!here) return;
        if (e instanceof ApiError && e.status === 404 && e.detail.code === "result_not_found") {
          setMissing(true);
          setResult(null);
        } else setError(e);
      },
    );
    return () => {
      here = false;
    };
  }, [collection, reload]);

  const find = prevent(() => {
    setError(null);
    api.findDuplicates(collection, { threshold: Number(threshold) }).then(
      (r) => waitForJob(r.job_id, setJob, { live: () => live.current }).then((j) => {
        if (j.state !== "done") setError(new Error(`the duplicates job ${j.state}: ${j.message || ""}`));
        setReload((x) => x + 1);
      }),
      setError,
    ).catch(setError);
  });
  const running = job && (job.state === "queued" || job.state === "running");

  return html`<section class="view view-duplicates" aria-labelledby="dup-title">
    <h1 id="dup-title">Duplicates</h1>
    <p class="lede">Groups of images whose vectors are at least this similar (cosine): each image's near neighbours, linked into groups.</p>
    <form class="inline" onSubmit=${find}>
      <label>Threshold <input type="number" min="-1" max="1" step="0.005" value=${threshold} size="6"
        onInput=${withValue(setThreshold)} /></label>
      <button type="submit" disabled=${!!running || !collection}>${running ? "Finding…" : "Find duplicates"}</button>
      ${running && html`<span class="job-progress" role="status">${job?.state} ${jobPercent(job)}</span>`}
    </form>
    <${ErrorNote} error=${error} />
    ${missing && !running && html`<${Empty}>No duplicates search has run on this collection yet.</${Empty}>`}
    ${result && html`<p class="query-info" data-groups=${result.total_groups} data-duplicates=${result.duplicates}>
        ${result.total_groups} groups at cosine ≥ ${result.threshold} · ${result.duplicates} images beyond the first
        of each · ${result.compared.toLocaleString()} compared</p>
      ${result.stale && html`<p class="note stale-note" role="status">The collection changed since
        (${result.points} → ${result.current_points} points): run it again.</p>`}
      ${!result.groups.length && html`<${Empty}>No duplicates at this threshold.</${Empty}>`}
      <ol class="dup-groups" aria-label="Duplicate groups">
        ${result.groups.map((g, i) => html`<li key=${g.ids[0]} class="dup-group" data-ids=${g.ids.join(" ")}>
          <p class="dup-head"><strong>Group ${i + 1}</strong> · ${g.ids.length} images ·
            ${g.exact ? html`<span class="badge">exact</span>` : `cosine ${g.min_similarity.toFixed(3)}–${g.max_similarity.toFixed(3)}`}</p>
          <ul class="dup-members">${g.ids.map((id) => html`<li key=${id} data-id=${id}>
            <${Thumb} collection=${collection} id=${id} size=${128} alt=${altText({ id })} /></li>`)}</ul>
        </li>`)}
      </ol>`}
  </section>`;
}
