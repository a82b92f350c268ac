// Live state of one batch: an EventSource on /api/events?batch=ID, with polling of
// GET /api/batches/{id} while the stream is down (and, slowly, as a safety net for proxies
// that buffer the stream). It calls `onChange(batch)` with the merged snapshot and
// `onMode("live" | "polling" | "reconnecting")`: reconnecting while the server does not
// answer at all (a restart), so the page can say so. No DOM here.

import { api } from "./api.js";
import { isFinished } from "./progress.js";

export const POLL_INTERVAL_MS = 2000;
export const SAFETY_POLL_INTERVAL_MS = 10000;
const SNAPSHOT_DEBOUNCE_MS = 250;
const JOB_EVENT_STATES = {
  "job.queued": "queued",
  "job.started": "running",
  "job.progress": "running",
  "job.succeeded": "succeeded",
  "job.failed": "failed",
  "job.cancelled": "cancelled",
};
export const EVENT_KINDS = [...Object.keys(JOB_EVENT_STATES), "batch.updated", "message"];

function jobIdOf(payload) {
  return payload.job_id || payload.job?.id || (payload.batch_id !== undefined ? payload.id : null);
}

export class BatchLive {
  constructor(batchId, onChange, onMode) {
    this.batchId = batchId;
    this.onChange = onChange;
    this.onMode = onMode || (() => {});
    this.batch = null;
    this.source = null;
    this.pollTimer = null;
    this.safetyTimer = null;
    this.snapshotTimer = null;
    this.closed = false;
    this.away = false;
  }

  async start() {
    this.safetyTimer = setInterval(() => {
      if (!this.allFinished()) this.refresh().catch(() => null);
    }, SAFETY_POLL_INTERVAL_MS);
    this.connect();
    await this.refresh().catch((exc) => {
      this.startPolling();
      if (!(exc.status === 0 || exc.status >= 500)) throw exc;
    });
  }

  stop() {
    this.closed = true;
    this.source?.close();
    clearInterval(this.pollTimer);
    clearInterval(this.safetyTimer);
    clearTimeout(this.snapshotTimer);
  }

  allFinished() {
    const jobs = this.batch?.jobs || [];
    return jobs.length > 0 && jobs.every(isFinished);
  }

  async refresh() {
    let batch;
    try {
      batch = await api.getBatch(this.batchId);
    } catch (exc) {
      if (exc.status === 0 || exc.status >= 500) this.setAway(true);
      throw exc;
    }
    this.setAway(false);
    if (this.closed) return;
    this.batch = batch;
    this.onChange(batch);
  }

  setAway(away) {
    if (away === this.away) return;
    this.away = away;
    if (away) this.onMode("reconnecting");
    else this.onMode(this.source?.readyState === 1 ? "live" : this.pollTimer ? "polling" : "live");
  }

  scheduleRefresh() {
    clearTimeout(this.snapshotTimer);
    this.snapshotTimer = setTimeout(() => this.refresh().catch(() => null), SNAPSHOT_DEBOUNCE_MS);
  }

  connect() {
    if (typeof EventSource === "undefined") {
      this.startPolling();
      return;
    }
    this.source = new EventSource(api.eventsUrl(this.batchId), { withCredentials: true });
    this.source.addEventListener("open", () => {
      if (this.pollTimer || this.away) this.scheduleRefresh();
      this.stopPolling();
    });
    this.source.addEventListener("error", () => {
      this.startPolling();
      if (this.source.readyState === EventSource.CLOSED && !this.closed) {
        setTimeout(() => !this.closed && this.connect(), POLL_INTERVAL_MS * 5);
      }
    });
    for (const kind of EVENT_KINDS) {
      this.source.addEventListener(kind, (event) => this.handle(kind, event));
    }
  }

  startPolling() {
    if (this.pollTimer || this.closed) return;
    if (!this.away) this.onMode("polling");
    this.pollTimer = setInterval(() => this.refresh().catch(() => null), POLL_INTERVAL_MS);
  }

  stopPolling() {
    clearInterval(this.pollTimer);
    this.pollTimer = null;
    this.away = false;
    this.onMode("live");
  }

  handle(kind, event) {
    let payload;
    try {
      payload = JSON.parse(event.data);
    } catch {
      return;
    }
    const eventKind = payload.kind || kind;
    const body = payload.payload || payload;
    const jobId = jobIdOf(body);
    const job = this.batch?.jobs?.find((j) => j.id === jobId);
    if (!job || eventKind !== "job.progress") {
      if (job) Object.assign(job, body.job || body, { id: job.id });
      if (job && JOB_EVENT_STATES[eventKind] && !(body.job || body).status) {
        job.status = JOB_EVENT_STATES[eventKind];
      }
      if (job) this.onChange(this.batch);
      this.scheduleRefresh();
      return;
    }
    Object.assign(job, body.job || body, { id: job.id, status: (body.job || body).status || "running" });
    this.onChange(this.batch);
  }
}
