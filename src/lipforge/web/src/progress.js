// Progress arithmetic and wording for jobs and batches: pure functions, no DOM.
// Batch progress is weighted by frames, so a long video counts for more than a short one.

export const FINISHED_STATES = new Set(["succeeded", "failed", "cancelled"]);

const STATE_WORDS = {
  queued: "Waiting in the queue",
  running: "Rendering",
  succeeded: "Done",
  failed: "Failed",
  cancelled: "Cancelled",
};

export function jobState(job) {
  return job.status || job.state || "queued";
}

export function stateWords(state) {
  return STATE_WORDS[state] || state;
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

export function formatDuration(seconds) {
  if (seconds === null || seconds === undefined || !Number.isFinite(Number(seconds))) return "";
  const s = Math.max(0, Math.round(Number(seconds)));
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${String(s % 60).padStart(2, "0")} s`;
  return `${Math.floor(m / 60)} h ${String(m % 60).padStart(2, "0")} min`;
}

export function formatBytes(bytes) {
  const n = Number(bytes) || 0;
  const units = ["B", "KB", "MB", "GB", "TB"];
  let value = n;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit += 1;
  }
  return `${value.toFixed(unit === 0 ? 0 : 1)} ${units[unit]}`;
}

export function formatPercent(fraction) {
  return `${Math.floor(Math.min(1, Math.max(0, fraction)) * 100)} %`;
}

export function jobDetail(job) {
  const state = jobState(job);
  const parts = [];
  const total = Number(job.frames_total) || 0;
  if (total > 0 && state !== "queued") parts.push(`${job.frames_done || 0} / ${total} frames`);
  if (state === "running" && Number(job.fps) > 0) parts.push(`${Number(job.fps).toFixed(1)} fps`);
  if (state === "running" && job.eta_s !== null && job.eta_s !== undefined) {
    parts.push(`about ${formatDuration(job.eta_s)} left`);
  }
  return parts.join(" · ");
}

export function failureReason(job) {
  const reason = job.error_message || job.error?.message || job.reason || job.error;
  if (typeof reason === "string" && reason) return reason;
  return "The job failed without a reason; see its log.";
}
