// Progress arithmetic and wording for jobs and batches: pure functions, no DOM.
// Batch progress is weighted by frames, so a long video counts for more than a short one.
// Wording comes from the catalogues (i18n.js), in the language in force.

import { formatDuration, formatNumber, formatPercent, t, translateError } from "./i18n.js";

export { formatDuration, formatPercent };
export const FINISHED_STATES = new Set(["succeeded", "failed", "cancelled"]);
const STATES = ["queued", "running", "succeeded", "failed", "cancelled"];

export function jobState(job) {
  return job.status || job.state || "queued";
}

export function stateWords(state) {
  return STATES.includes(state) ? t(`job.states.${state}`) : state;
}

export function stageWords(stage) {
  return stage ? t(`job.stages.${stage}`) : "";
}

export function isFinished(job) {
  return FINISHED_STATES.has(jobState(job));
}

export function jobFraction(job) {
  if (jobState(job) === "succeeded") return 1;
  const total = Number(job.frames_total) || 0;
  if (total <= 0) return 0;
  return Math.min(1, (Number(job.frames_done) || 0) / total);
}

// Jobs whose frame count is not known yet weigh as much as the average known job.
export function batchFraction(jobs) {
  if (!jobs.length) return 0;
  const known = jobs.map((j) => Number(j.frames_total) || 0).filter((n) => n > 0);
  const fallbackWeight = known.length ? known.reduce((a, b) => a + b, 0) / known.length : 1;
  let done = 0;
  let total = 0;
  for (const job of jobs) {
    const weight = Number(job.frames_total) > 0 ? Number(job.frames_total) : fallbackWeight;
    total += weight;
    done += isFinished(job) ? weight : weight * jobFraction(job);
  }
  return total > 0 ? done / total : 0;
}

// "frame 32 / 1505 · 18.5 fps · about 1 min 19 s left" / "第 32 / 1505 帧 · 18.5 帧/秒 · 约 1 分 19 秒"
export function jobDetail(job) {
  const state = jobState(job);
  const parts = [];
  const total = Number(job.frames_total) || 0;
  if (state === "running" && job.stage === "speech" && Number(job.stage_total) > 0) {
    parts.push(t("job.sentences", { done: job.stage_done || 0, total: job.stage_total }));
  } else if (total > 0 && state !== "queued") {
    parts.push(t("job.frames", { done: formatNumber(job.frames_done || 0), total: formatNumber(total) }));
  }
  if (state === "running" && Number(job.fps) > 0) {
    parts.push(t("job.fps", { fps: formatNumber(job.fps, 1) }));
  }
  if (state === "running" && Number(job.eta_s) > 0) {
    parts.push(t("job.left", { duration: formatDuration(job.eta_s) }));
  }
  return parts.join(" · ");
}

export function failureReason(job) {
  const code = job.error_code || job.error?.code;
  const message = job.error_message || job.error?.message || job.reason;
  if (!code && !message) return t("job.noReason");
  return translateError({ code, params: job.error_params || job.error?.params || {}, message });
}

export function countsText(counts, separator = " · ") {
  return STATES.filter((s) => counts[s] > 0)
    .map((s) => t(`batches.counts.${s}`, { count: counts[s] })).join(separator);
}
