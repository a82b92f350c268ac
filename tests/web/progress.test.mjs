// Unit tests of the UI's progress arithmetic (src/lipforge/web/src/progress.js), run with
// `node --test` by test_progress_js.py.
import assert from "node:assert/strict";
import test from "node:test";

import {
  batchFraction,
  failureReason,
  formatDuration,
  jobDetail,
  jobFraction,
} from "../../src/lipforge/web/src/progress.js";

test("batch progress is weighted by frames, not by job count", () => {
  const long = { status: "running", frames_done: 0, frames_total: 45000 };
  const short = { status: "succeeded", frames_done: 250, frames_total: 250 };
  assert.ok(batchFraction([long, short]) < 0.01);
  const halfway = { status: "running", frames_done: 22500, frames_total: 45000 };
  assert.ok(Math.abs(batchFraction([halfway, short]) - 22750 / 45250) < 1e-9);
});

test("finished jobs count in full, so a batch with a failure still ends at 100 %", () => {
  const failed = { status: "failed", frames_done: 10, frames_total: 100 };
  const done = { status: "succeeded", frames_done: 100, frames_total: 100 };
  assert.equal(batchFraction([failed, done]), 1);
});

test("jobs without a frame count weigh as much as the average known job", () => {
  const unknown = { status: "queued", frames_done: 0, frames_total: null };
  const known = { status: "succeeded", frames_done: 300, frames_total: 300 };
  assert.equal(batchFraction([unknown, known]), 0.5);
  assert.equal(batchFraction([]), 0);
});

test("job fraction, detail and failure wording", () => {
  const job = { status: "running", frames_done: 50, frames_total: 200, fps: 31.26, eta_s: 4.8 };
  assert.equal(jobFraction(job), 0.25);
  assert.equal(jobDetail(job), "50 / 200 frames · 31.3 fps · about 5 s left");
  assert.equal(jobDetail({ status: "queued", frames_total: 200 }), "");
  assert.equal(failureReason({ error_message: "no face found in a.mp4" }), "no face found in a.mp4");
  assert.match(failureReason({}), /see its log/);
});

test("durations read like a person would say them", () => {
  assert.equal(formatDuration(42), "42 s");
  assert.equal(formatDuration(125), "2 min 05 s");
  assert.equal(formatDuration(3 * 3600 + 60), "3 h 01 min");
  assert.equal(formatDuration(null), "");
});
