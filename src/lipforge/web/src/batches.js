// The batch pages: the list of batches, and one batch with a progress bar per job and for
// the whole batch (weighted by frames), failure reasons, cancel/retry, output previews and
// "Download all". Live updates come from live.js.

import { api, itemsOf } from "./api.js";
import { clear, el, progressBar, toast } from "./dom.js";
import { BatchLive } from "./live.js";
import {
  batchFraction,
  failureReason,
  formatPercent,
  isFinished,
  jobDetail,
  jobFraction,
  jobState,
  stateWords,
} from "./progress.js";

function formatTime(value) {
  if (!value) return "";
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? String(value) : date.toLocaleString();
}

function batchJobs(batch) {
  return batch.jobs || [];
}

function batchState(batch) {
  const jobs = batchJobs(batch);
  if (!jobs.length) return batch.status || "";
  const states = new Set(jobs.map(jobState));
  for (const state of ["running", "queued", "failed", "cancelled"]) {
    if (states.has(state)) return state;
  }
  return "succeeded";
}

function batchProgress(batch) {
  const jobs = batchJobs(batch);
  if (jobs.length) return batchFraction(jobs);
  const p = batch.progress;
  if (typeof p === "number") return p > 1 ? p / 100 : p;
  if (p && typeof p === "object") {
    if (typeof p.fraction === "number") return p.fraction;
    if (p.frames_total) return (p.frames_done || 0) / p.frames_total;
  }
  return 0;
}

function countsText(batch) {
  const jobs = batchJobs(batch);
  let counts = batch.counts || {};
  if (jobs.length) {
    counts = {};
    for (const job of jobs) counts[jobState(job)] = (counts[jobState(job)] || 0) + 1;
  }
  return Object.entries(counts).filter(([, n]) => n > 0).map(([state, n]) => `${n} ${state}`)
    .join(", ");
}

const LIST_REFRESH_MS = 3000;

function batchListItem(batch) {
  const fraction = batchProgress(batch);
  return el("li", { "data-batch": batch.id, "data-state": batchState(batch) },
    el("a", { href: `#/batches/${batch.id}` }, el("strong", {}, formatTime(batch.created_at))),
    el("span", { class: "muted" }, ` ${batch.engine || batch.options?.engine || ""} · `
      + `${batch.fit || batch.options?.fit || ""} · ${countsText(batch)}`),
    progressBar(fraction, `${batch.status || ""} ${formatPercent(fraction)}`));
}

// The list refreshes itself while any batch is still queued or running.
export function renderBatchList(root) {
  const list = el("ul", { class: "batches", id: "batch-list" });
  root.append(el("section", { class: "card" }, el("h2", {}, "Batches"), list));
  let timer = null;
  let stopped = false;
  const load = async () => {
    const batches = itemsOf(await api.listBatches(), "batches");
    if (stopped) return;
    clear(list);
    if (!batches.length) {
      list.append(el("li", { class: "empty muted" }, "No batches yet. ",
        el("a", { href: "#/" }, "Create one.")));
    }
    for (const batch of batches) list.append(batchListItem(batch));
    if (batches.some((b) => b.finished === false || ["queued", "running"].includes(b.status))) {
      timer = setTimeout(() => load().catch(() => null), LIST_REFRESH_MS);
    }
  };
  load().catch((exc) => toast(exc.message, "bad"));
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}

function jobTitle(job) {
  const names = [job.audio_name, job.video_name].filter(Boolean);
  if (names.length) return names.join(" × ");
  return job.output_name || job.id;
}

async function act(action, done) {
  try {
    await action();
    done();
  } catch (exc) {
    toast(exc.message, "bad");
  }
}

// Rows keep their buttons while the state changes within one group (queued -> running).
const ACTIONS_BY_STATE = { queued: "cancel", running: "cancel", failed: "retry", cancelled: "retry" };

class JobRow {
  constructor(job, refresh) {
    this.refresh = refresh;
    this.title = el("strong", {});
    this.state = el("span", { class: "state" });
    this.bar = el("div", { class: "bar-slot" });
    this.detail = el("div", { class: "muted small detail" });
    this.reason = el("div", { class: "reason" });
    this.actions = el("div", { class: "actions" });
    this.media = el("div", { class: "media" });
    this.node = el("li", { class: "job", "data-job": job.id },
      el("div", { class: "row" }, this.title, this.state), this.bar, this.detail, this.reason,
      this.actions, this.media);
    this.renderedActions = null;
  }

  update(job) {
    const state = jobState(job);
    this.node.dataset.state = state;
    this.title.textContent = jobTitle(job);
    this.state.textContent = stateWords(state);
    this.state.className = `state ${state}`;
    clear(this.bar).append(progressBar(jobFraction(job), formatPercent(jobFraction(job))));
    this.detail.textContent = jobDetail(job);
    this.reason.textContent = state === "failed" ? failureReason(job) : "";
    const actionsKey = ACTIONS_BY_STATE[state] || state;
    if (this.renderedActions !== actionsKey) this.renderStateParts(job, state);
    this.renderedActions = actionsKey;
  }

  renderStateParts(job, state) {
    clear(this.actions);
    clear(this.media);
    if (state === "queued" || state === "running") {
      this.actions.append(el("button", {
        class: "small", onclick: () => act(() => api.cancelJob(job.id), this.refresh) }, "Cancel"));
    }
    if (state === "failed" || state === "cancelled") {
      this.actions.append(el("button", {
        class: "small", onclick: () => act(() => api.retryJob(job.id), this.refresh) }, "Retry"));
    }
    if (state === "succeeded") {
      const url = api.jobOutputUrl(job.id);
      this.media.append(el("video", { controls: true, preload: "metadata", playsinline: true, src: url }));
      this.actions.append(el("a", { class: "button small", href: url, download: "" }, "Download"));
    }
  }
}

export function renderBatchView(root, batchId) {
  const title = el("h2", {}, "Batch ", el("code", {}, batchId));
  const mode = el("span", { class: "mode muted small", id: "live-mode" }, "connecting…");
  const overall = el("div", { id: "batch-progress" });
  const counts = el("p", { class: "muted", id: "batch-counts" });
  const jobsList = el("ul", { class: "jobs", id: "job-list" });
  const rows = new Map();
  const archive = el("a", { class: "button", id: "download-all", href: api.batchArchiveUrl(batchId) },
    "Download all");
  let live = null;
  const refresh = () => live?.refresh().catch((exc) => toast(exc.message, "bad"));
  const cancelAll = el("button", { onclick: () => act(() => api.cancelBatch(batchId), refresh) },
    "Cancel batch");
  const remove = el("button", { class: "danger", onclick: () => {
    if (!window.confirm("Delete this batch and its outputs?")) return;
    act(() => api.deleteBatch(batchId), () => { window.location.hash = "#/batches"; });
  } }, "Delete");

  const draw = (batch) => {
    const jobs = batchJobs(batch);
    const fraction = batchProgress(batch);
    const state = batchState(batch);
    const label = jobs.length && jobs.every(isFinished) && state !== "succeeded"
      ? `Finished: ${countsText(batch)}` : formatPercent(fraction);
    clear(overall).append(progressBar(fraction, label));
    overall.dataset.state = state;
    counts.textContent = `${batch.engine || batch.options?.engine || ""} · `
      + `${batch.fit || batch.options?.fit || ""} · ${countsText(batch)}`;
    for (const job of jobs) {
      if (!rows.has(job.id)) {
        rows.set(job.id, new JobRow(job, refresh));
        jobsList.append(rows.get(job.id).node);
      }
      rows.get(job.id).update(job);
    }
    const anySucceeded = jobs.some((j) => jobState(j) === "succeeded");
    archive.classList.toggle("disabled", !anySucceeded);
    cancelAll.disabled = jobs.every(isFinished);
  };
  const setMode = (value) => {
    mode.textContent = value === "live" ? "● live" : "polling every 2 s (live stream unavailable)";
    mode.dataset.mode = value;
  };

  root.append(el("section", { class: "card" },
    el("div", { class: "row" }, title, mode), overall, counts,
    el("div", { class: "actions" }, archive, cancelAll, remove), jobsList));
  live = new BatchLive(batchId, draw, setMode);
  live.start().catch((exc) => toast(exc.message, "bad"));
  return () => live.stop();
}
