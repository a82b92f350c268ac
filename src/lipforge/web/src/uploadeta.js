// Time left of the uploads in progress, from the bytes this page itself has sent. Uppy's own
// guess counts what a resumed upload had sent before (page refreshed, file added again) as if
// it had just gone, so it says "0 s left" right after resuming at 42 %, and it writes the
// time with English units ("1m 08s"). Here each file's first progress report after it
// (re)starts is only its baseline; the rate is the bytes sent since, over a sliding window;
// there is no guess before MIN_SPAN_MS of sending. No DOM and no Uppy here (upload.js wires it).

export const WINDOW_MS = 10000;
export const MIN_SPAN_MS = 2000;

export class UploadEta {
  constructor() {
    this.files = new Map(); // file id -> { sent, at }: its last report
    this.samples = []; // { since, at, bytes }: bytes a file sent between two reports
  }

  // A file's progress report (bytes sent so far, the offset a resume started from included).
  progress(fileId, bytesSent, nowMs) {
    const last = this.files.get(fileId);
    this.files.set(fileId, { sent: bytesSent, at: nowMs });
    if (!last || bytesSent <= last.sent) return; // a baseline, or a restart from lower down
    this.samples.push({ since: last.at, at: nowMs, bytes: bytesSent - last.sent });
  }

  // The file paused, failed, finished or left: its next report is a new baseline.
  stop(fileId) {
    this.files.delete(fileId);
  }

  reset() {
    this.files.clear();
    this.samples = [];
  }

  // Seconds until `remainingBytes` are sent at the recent rate; null while unknown.
  secondsLeft(remainingBytes, nowMs) {
    this.samples = this.samples.filter((s) => s.at >= nowMs - WINDOW_MS);
    if (!this.samples.length || !(remainingBytes > 0)) return null;
    const since = Math.min(...this.samples.map((s) => s.since));
    const spanMs = nowMs - since;
    if (spanMs < MIN_SPAN_MS) return null;
    const bytesPerMs = this.samples.reduce((sum, s) => sum + s.bytes, 0) / spanMs;
    return bytesPerMs > 0 ? remainingBytes / bytesPerMs / 1000 : null;
  }
}
