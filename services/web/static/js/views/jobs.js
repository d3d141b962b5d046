// @ts-check
// Jobs: create a collection, start an ingestion (a folder or manifest on the server, or uploaded files),
// and follow each job's progress bar and per-item failures (polled while any job is unfinished).

import { useEffect, useState } from "preact/hooks";
import { api } from "../api.js";
import { ErrorNote } from "../components.js";
import { prevent, withFiles, withValue } from "../dom.js";
import { html } from "../html.js";
import { setRoute } from "../state.js";

/** @typedef {import("../api.js").Job} Job */

const POLL_MS = 1000;
/** @param {Job} j */
const live = (j) => j.state === "queued" || j.state === "running";

/** @param {{job: Job, onCancel: (id: string) => void}} props */
function JobItem({ job, onCancel }) {
  const finished = job.done + job.failed;
  const skipped = job.skipped || 0; // counted in ``done``, but stored by an earlier job
  const omitted = job.errors_omitted || 0;
  return html`<li class=${`job job-${job.state}`} data-job-id=${job.job_id} data-state=${job.state}>
    <div class="job-head">
      <strong>${job.source?.kind || "ingest"}</strong>
      <span class="job-source" title=${job.source?.path}>${job.source?.path || ""}</span>
      <span class=${`badge state-${job.state}`}>${job.state}</span>
      ${live(job) && html`<button type="button" class="small secondary" onClick=${() => onCancel(job.job_id)}>Cancel</button>`}
    </div>
    <label class="job-progress">
      <span class="visually-hidden">Progress of job ${job.job_id}</span>
      <progress max=${job.total || 1} value=${job.total ? finished : live(job) ? undefined : 1}></progress>
      <span class="job-counts">${job.done - skipped} stored${skipped ? `, ${skipped} already stored` : ""}${job.failed ? `, ${job.failed} failed` : ""}${job.total ? ` of ${job.total}` : ""}</span>
    </label>
    ${job.message && html`<p class="job-message">${job.message}</p>`}
    ${job.errors.length > 0 && html`<details class="job-errors" open=${job.errors.length <= 5}>
      <summary>${job.errors.length} failure${job.errors.length > 1 ? "s" : ""}</summary>
      <ul>${job.errors.map((e, i) => html`<li key=${i}><code>${e.item}</code> — ${e.reason}</li>`)}</ul>
      ${omitted > 0 && html`<p class="job-errors-omitted">and ${omitted} more not listed
        (<code>GET /v1/jobs/${job.job_id}?max_errors=10000</code>)</p>`}
    </details>`}
  </li>`;
}

/** @param {import("./index.js").ViewProps} props */
export function JobsView({ collection, reloadCollections }) {
  const [jobs, setJobs] = useState(/** @type {Job[]} */ ([]));
  const [error, setError] = useState(/** @type {Error | null} */ (null));
  const [path, setPath] = useState("");
  const [newName, setNewName] = useState("");
  const [tick, setTick] = useState(0);

  useEffect(() => {
    if (!collection) return undefined;
    let stop = false;
    /** @type {ReturnType<typeof setTimeout> | undefined} */
    let timer;
    const poll = () =>
      api.jobs(collection).then(
        async (r) => {
          // The list gives a job's first failures only; fetch the job itself (up to 1,000) for those it cut short.
          const jobs = await Promise.all(
            r.jobs.map((j) => (j.failed && (!j.errors.length || j.errors_omitted) ? api.job(j.job_id).catch(() => j) : j)),
          );
          if (stop) return;
          setJobs(jobs);
          if (r.jobs.some(live)) timer = setTimeout(poll, POLL_MS);
          else reloadCollections();
        },
        (err) => !stop && setError(err),
      );
    poll();
    return () => {
      stop = true;
      clearTimeout(timer);
    };
  }, [collection, tick]);

  const started = () => {
    setError(null);
    setTick((t) => t + 1);
  };
  const startPath = prevent(() => {
    api.ingestPath(collection, path.trim()).then(started, setError);
  });
  const startUpload = withFiles((files) => {
    if (!files.length) return;
    const form = new FormData();
    files.forEach((f) => form.append("files", f, f.name));
    api.ingestFiles(collection, form).then(started, setError);
  });
  const create = prevent(() => {
    api.createCollection(newName.trim()).then(() => {
      reloadCollections();
      setRoute({ collection: newName.trim() });
      setNewName("");
    }, setError);
  });

  return html`<section class="view view-jobs" aria-labelledby="jobs-title">
    <h1 id="jobs-title">Ingestion jobs ${collection ? html`for <code>${collection}</code>` : ""}</h1>
    <form class="inline" onSubmit=${create}>
      <label>New collection <input value=${newName} onInput=${withValue(setNewName)}
        required maxlength="64" placeholder="name" /></label>
      <button type="submit" class="secondary">Create</button>
    </form>
    ${collection && html`<form class="inline" onSubmit=${startPath}>
      <label>Folder or manifest on the server <input class="wide" value=${path} required spellcheck="false"
        onInput=${withValue(setPath)} placeholder="/data/images or /data/manifest.jsonl" /></label>
      <button type="submit">Ingest</button>
      <label class="file-button">Upload images or videos…<input type="file" accept="image/*,video/*" multiple class="visually-hidden"
        onChange=${startUpload} /></label>
    </form>`}
    <${ErrorNote} error=${error} />
    <ol class="jobs" aria-live="polite">
      ${jobs.map((j) => html`<${JobItem} key=${j.job_id} job=${j}
        onCancel=${(/** @type {string} */ id) => api.cancelJob(id).then(started, setError)} />`)}
    </ol>
    ${collection && !jobs.length && html`<p class="empty">No jobs for this collection yet.</p>`}
  </section>`;
}
