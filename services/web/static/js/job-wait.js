// @ts-check
// Waiting for a job the UI started (map, duplicates): poll GET /v1/jobs/{id} until it ends, reporting
// its progress on the way.

import { api } from "./api.js";

/** @typedef {import("./api.js").Job} Job */

/**
 * Resolves with the finished job (done, failed or cancelled); `onProgress` sees every poll.
 * @param {string} id @param {(job: Job) => void} onProgress @param {{interval?: number, live?: () => boolean}} [opts]
 * @returns {Promise<Job>}
 */
export async function waitForJob(id, onProgress, { interval = 700, live = () => true } = {}) {
  for (;;) {
    const job = await api.job(id);
    if (!live()) return job;
    onProgress(job);
    if (job.state === "done" || job.state === "failed" || job.state === "cancelled") return job;
    await new Promise((r) => setTimeout(r, interval));
  }
}

/** "45%" of a job's entries, or "" before it knows its total. @param {Job | null} job */
export function jobPercent(job) {
  if (!job || !job.total) return "";
  return `${Math.round((100 * (job.done + job.failed)) / job.total)}%`;
}
