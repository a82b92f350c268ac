// The batch pages: the list of batches (by name, with state and progress), and one batch:
// its editable name, the weighted batch progress, one row per job (stage, frames, fps,
// time left, the failure reason in the reader's language, cancel/retry), the results
// gallery (videos playing in the page, subtitles from the .vtt, SRT and MP4 downloads,
// "Download all") and the machine panel. Live updates come from live.js.

import { api, errorText, itemsOf } from "./api.js";
import { clear, el, progressBar, toast } from "./dom.js";
import { formatDate, t } from "./i18n.js";
import { BatchLive } from "./live.js";
import { mountMachinePanel } from "./machine.js";
import {
  batchFraction,
  countsText,
  failureReason,
  formatPercent,
  isFinished,
  jobDetail,
  jobFraction,
  jobState,
  stageWords,
  stateWords,
} from "./progress.js";

const LIST_REFRESH_MS = 3000;

function batchJobs(batch) {
  return batch.jobs || [];
}

function batchState(batch) {
  const jobs = batchJobs(batch);
  if (!jobs.length) return batch.status || "queued";
  const states = new Set(jobs.map(jobState));
  for (const state of ["running", "queued", "failed", "cancelled"]) {
    if (states.has(state)) return state;
  }
  return "succeeded";
}

function batchProgress(batch) {
  const jobs = batchJobs(batch);
  if (jobs.length) return batchFraction(jobs);
  return typeof batch.progress === "number" ? batch.progress : 0;
}

function batchCounts(batch) {
  const jobs = batchJobs(batch);
  if (!jobs.length) return batch.counts || {};
  const counts = {};
  for (const job of jobs) counts[jobState(job)] = (counts[jobState(job)] || 0) + 1;
  return counts;
}

export function batchName(batch) {
  return batch.name || t("batches.unnamed", { date: formatDate(batch.created_at) });
}

function statePill(state) {
  return el("span", { class: `pill ${state}` }, stateWords(state));
}

// An ended batch where some jobs made a video and some did not is neither "failed" nor
// "done": its badge says both counts ("2 个完成，1 个失败") and its bar is green for the
// share that succeeded, red for the rest.
function partlyDone(counts) {
  return counts.succeeded > 0 && (counts.failed > 0 || counts.cancelled > 0);
}

// The state and bar share of a batch: "partial" with the share that succeeded once it ended
// partly done (the list and the batch's own page draw it alike).
function batchShape(batch, finished) {
  const counts = batchCounts(batch);
  const state = finished && partlyDone(counts) ? "partial" : batchState(batch);
  const total = Object.values(counts).reduce((sum, n) => sum + n, 0) || 1;
  const fraction = state === "partial" ? counts.succeeded / total : finished ? 1 : batchProgress(batch);
  return { counts, state, fraction };
}

function batchListItem(batch) {
  const finished = batch.finished === true;
  const { counts, state, fraction } = batchShape(batch, finished);
  const label = finished ? countsText(counts) : formatPercent(fraction);
  const pill = state === "partial"
    ? el("span", { class: "pill partial" }, countsText(counts, t("batches.countsJoin")))
    : statePill(state);
  return el("li", { "data-batch": batch.id, "data-state": state, class: "batch-item" },
    el("div", { class: "row" },
      el("a", { href: `#/batches/${batch.id}`, class: batch.name ? "batch-link data" : "batch-link" },
        batchName(batch)),
      pill),
    // an ended batch's counts are on its bar already (and on its badge when partly done)
    el("div", { class: "muted small" }, [t("batches.created", { date: formatDate(batch.created_at) }),
      finished ? "" : countsText(counts)].filter(Boolean).join(" · ")),
    progressBar(fraction, label, batchName(batch)));
}

// The list refreshes itself while any batch is still queued or running.
export function renderBatchList(root) {
  const list = el("ul", { class: "batches", id: "batch-list" });
  root.append(el("h1", { class: "page-title" }, t("batches.title")),
    el("section", { class: "card" }, list));
  let timer = null;
  let stopped = false;
  const load = async () => {
    const batches = itemsOf(await api.listBatches(), "batches");
    if (stopped) return;
    clear(list);
    if (!batches.length) {
      list.append(el("li", { class: "empty muted" }, `${t("batches.empty")} `,
        el("a", { href: "#/" }, t("batches.createOne"))));
    }
    for (const batch of batches) list.append(batchListItem(batch));
    if (batches.some((b) => b.finished === false || ["queued", "running"].includes(b.status))) {
      timer = setTimeout(() => load().catch(() => null), LIST_REFRESH_MS);
    }
  };
  load().catch((exc) => toast(errorText(exc), "bad"));
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}

export function jobTitle(job) {
  const names = [job.audio_name, job.video_name].filter(Boolean);
  if (names.length) return names.join(" × ");
  return job.output_name || job.id;
}

async function act(action, done) {
  try {
    await action();
    done();
  } catch (exc) {
    toast(errorText(exc), "bad");
  }
}

// A scripted job's subtitles: `subtitles_url` is the .srt; the .vtt lies beside it.
function subtitleUrls(job) {
  const srt = job.subtitles_url || null;
  return { srt, vtt: srt ? srt.replace(/\.srt($|\?)/, ".vtt$1") : null };
}

// One finished video: plays in the page (Range requests), subtitles on, MP4 and SRT beside it.
export function resultCard(job) {
  const url = job.output_url || api.jobOutputUrl(job.id);
  const subs = subtitleUrls(job);
  const lang = document.documentElement.lang;
  // `#t=0.1`: the browser shows that frame as the card's picture; with metadata alone some
  // (Chromium at phone widths) leave the card black until play.
  const video = el("video", { controls: true, preload: "metadata", playsinline: true,
    src: `${url}#t=0.1`, "aria-label": job.output_name });
  if (subs.vtt) {
    video.append(el("track", { kind: "subtitles", src: subs.vtt, srclang: job.language || lang,
      label: t("job.subtitles"), default: true })); // a WebVTT track: not "SRT"
  }
  return el("li", { class: "result", "data-job": job.id },
    video,
    el("div", { class: "file-name small", title: job.output_name }, job.output_name),
    el("div", { class: "actions" },
      el("a", { class: "button small", href: url, download: job.output_name || "" }, `${t("job.download")} MP4`),
      subs.srt ? el("a", { class: "button small", href: subs.srt, download: "" }, t("job.srt")) : null));
}

// Rows keep their buttons while the state changes within one group (queued -> running).
// Failures that come from the input file itself (errors.py's media errors): running the
// job again on the same bytes ends the same way, so no "retry" is offered for them.
const SAME_INPUT_FAILS_AGAIN = new Set(["no_face", "not_media", "corrupt_media", "bad_media",
  "no_video_stream", "no_audio_stream", "empty_media", "resolution_too_large", "video_too_small",
  "too_long"]);
const ACTIONS_BY_STATE = { queued: "cancel", running: "cancel", failed: "retry", cancelled: "retry" };

class JobRow {
  constructor(job, refresh) {
    this.refresh = refresh;
    this.title = el("strong", { class: "file-name" });
    this.state = el("span", { class: "pill" });
    this.stage = el("span", { class: "stage muted small" });
    this.bar = el("div", { class: "bar-slot" });
    this.detail = el("div", { class: "muted small detail" });
    this.reason = el("div", { class: "reason", role: "alert" });
    this.actions = el("div", { class: "actions" });
    this.node = el("li", { class: "job", "data-job": job.id },
      el("div", { class: "row" }, this.title, el("span", { class: "row tight" }, this.stage, this.state)),
      this.bar, this.detail, this.reason, this.actions);
    this.renderedActions = null;
  }

  update(job) {
    const state = jobState(job);
    this.node.dataset.state = state;
    this.node.dataset.stage = job.stage || "";
    this.title.textContent = jobTitle(job);
    this.state.textContent = stateWords(state);
    this.state.className = `pill ${state}`;
    this.stage.textContent = state === "running" && job.stage
      ? t("job.stage", { stage: stageWords(job.stage) }) : "";
    clear(this.bar).append(progressBar(jobFraction(job), formatPercent(jobFraction(job)),
      t("job.progress", { name: jobTitle(job) })));
    this.detail.textContent = jobDetail(job);
    this.reason.textContent = state === "failed" ? failureReason(job) : "";
    const actionsKey = ACTIONS_BY_STATE[state] || state;
    if (this.renderedActions !== actionsKey) this.renderActions(job, state);
    this.renderedActions = actionsKey;
  }

  renderActions(job, state) {
    clear(this.actions);
    if (state === "queued" || state === "running") {
      this.actions.append(el("button", { class: "small", type: "button", "data-action": "cancel",
        onclick: () => act(() => api.cancelJob(job.id), this.refresh) }, t("common.cancel")));
    }
    if (state === "cancelled" || (state === "failed" && !SAME_INPUT_FAILS_AGAIN.has(job.error_code))) {
      this.actions.append(el("button", { class: "small", type: "button", "data-action": "retry",
        onclick: () => act(() => api.retryJob(job.id), this.refresh) }, t("common.retry")));
    }
  }
}

function nameEditor(batchId, onRenamed) {
  const input = el("input", { type: "text", id: "batch-name-edit", maxlength: 255,
    "aria-label": t("batches.nameLabel"), class: "title-input" });
  let saved = "";
  const save = async () => {
    const value = input.value.trim();
    if (value === saved || !value) {
      input.value = saved;
      return;
    }
    try {
      const batch = await api.renameBatch(batchId, value);
      saved = batch.name;
      onRenamed(batch);
      toast(t("batches.renamed"));
    } catch (exc) {
      toast(errorText(exc), "bad");
    }
  };
  input.addEventListener("change", save);
  input.addEventListener("keydown", (event) => {
    if (event.key === "Enter") input.blur();
  });
  return {
    node: input,
    set(batch) {
      if (document.activeElement === input) return;
      saved = batch.name || "";
      input.value = saved;
      input.placeholder = batchName(batch);
    },
  };
}

export function renderBatchView(root, batchId) {
  const title = nameEditor(batchId, () => null);
  const mode = el("span", { class: "mode small", id: "live-mode", role: "status" }, t("batches.connecting"));
  const overall = el("div", { id: "batch-progress" });
  const counts = el("p", { class: "muted small", id: "batch-counts" });
  const paused = el("p", { class: "bad small", id: "paused" });
  const jobsList = el("ul", { class: "jobs", id: "job-list" });
  const gallery = el("ul", { class: "gallery", id: "results" });
  const rows = new Map();
  const shown = new Set();
  const archive = el("a", { class: "button", id: "download-all", href: api.batchArchiveUrl(batchId),
    download: "" }, t("batches.downloadAll"));
  let live = null;
  const refresh = () => live?.refresh().catch((exc) => toast(errorText(exc), "bad"));
  const cancelAll = el("button", { type: "button", id: "cancel-batch",
    onclick: () => act(() => api.cancelBatch(batchId), refresh) }, t("batches.cancelBatch"));
  const remove = el("button", { class: "danger", type: "button", onclick: () => {
    if (!window.confirm(t("batches.deleteConfirm"))) return;
    act(() => api.deleteBatch(batchId), () => { window.location.hash = "#/batches"; });
  } }, t("common.delete"));

  const draw = (batch) => {
    const jobs = batchJobs(batch);
    const ended = jobs.length > 0 && jobs.every(isFinished);
    const shape = batchShape(batch, ended);
    title.set(batch);
    const countLine = countsText(shape.counts, t("batches.countsJoin"));
    const label = ended && shape.state !== "succeeded"
      ? t("batches.finished", { counts: countLine }) : formatPercent(shape.fraction);
    clear(overall).append(progressBar(shape.fraction, label, t("batches.progress")));
    overall.dataset.state = shape.state;
    counts.textContent = [t("batches.created", { date: formatDate(batch.created_at) }),
      countsText(shape.counts)].filter(Boolean).join(" · ");
    paused.textContent = (batch.paused_reasons || []).map((r) => t("batches.paused", { reason: r })).join(" ");
    for (const job of jobs) {
      if (!rows.has(job.id)) {
        rows.set(job.id, new JobRow(job, refresh));
        jobsList.append(rows.get(job.id).node);
      }
      rows.get(job.id).update(job);
      if (jobState(job) === "succeeded" && !shown.has(job.id)) {
        shown.add(job.id);
        gallery.querySelector(".empty")?.remove();
        gallery.append(resultCard(job));
      }
    }
    if (!shown.size && !gallery.querySelector(".empty")) {
      gallery.append(el("li", { class: "empty muted" }, t("batches.noResults")));
    }
    archive.classList.toggle("disabled", !shown.size);
    archive.setAttribute("aria-disabled", String(!shown.size));
    cancelAll.disabled = jobs.every(isFinished);
  };
  const setMode = (value) => {
    mode.textContent = t(`batches.${value}`);
    mode.dataset.mode = value;
    document.body.classList.toggle("server-away", value === "reconnecting");
  };

  const side = el("aside", { class: "side" });
  root.append(el("div", { class: "layout" },
    el("div", { class: "main-col" },
      el("section", { class: "card", "aria-labelledby": "batch-name-edit" },
        el("label", { for: "batch-name-edit", class: "muted small" }, t("batches.nameLabel")),
        el("div", { class: "row wrap" }, title.node, mode), paused, overall, counts,
        el("div", { class: "actions" }, archive, cancelAll, remove), jobsList),
      el("section", { class: "card", "aria-labelledby": "results-title" },
        el("h2", { id: "results-title" }, t("batches.results")), gallery)),
    side));
  const stopMachine = mountMachinePanel(side);
  live = new BatchLive(batchId, draw, setMode);
  live.start().catch((exc) => toast(errorText(exc), "bad"));
  return () => {
    live.stop();
    stopMachine();
    document.body.classList.remove("server-away");
  };
}
