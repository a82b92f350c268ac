// Unit tests of the UI's progress arithmetic and wording in both languages
// (src/lipforge/web/src/progress.js, i18n.js, scripts.js), run with `node --test` by
// test_progress_js.py.
import assert from "node:assert/strict";
import test from "node:test";

import {
  chooseLanguage,
  formatBytes,
  formatDate,
  formatDuration,
  setLanguage,
  translateError,
} from "../../src/lipforge/web/src/i18n.js";
import {
  batchFraction,
  countsText,
  failureReason,
  jobDetail,
  jobFraction,
} from "../../src/lipforge/web/src/progress.js";
import { estimateSeconds, scriptLanguage, splitSentences } from "../../src/lipforge/web/src/scripts.js";

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

test("progress lines in English and in Chinese", () => {
  const job = { status: "running", frames_done: 32, frames_total: 1505, fps: 18.46, eta_s: 79 };
  assert.equal(jobFraction({ ...job, frames_done: 50, frames_total: 200 }), 0.25);
  setLanguage("en");
  assert.equal(jobDetail(job), "frame 32 / 1,505 · 18.5 fps · about 1 min 19 s left");
  assert.equal(jobDetail({ status: "queued", frames_total: 200 }), "");
  setLanguage("zh-CN");
  assert.equal(jobDetail(job), "第 32 / 1,505 帧 · 18.5 帧/秒 · 约 1 分 19 秒");
  const speaking = { status: "running", stage: "speech", stage_done: 3, stage_total: 12 };
  assert.equal(jobDetail(speaking), "第 3 / 12 句");
  setLanguage("en");
});

test("durations, sizes in binary units, dates", () => {
  setLanguage("en");
  assert.equal(formatDuration(42), "42 s");
  assert.equal(formatDuration(125), "2 min 05 s");
  assert.equal(formatDuration(3 * 3600 + 60), "3 h 01 min");
  assert.equal(formatDuration(null), "");
  assert.equal(formatBytes(53_700_000), "51.2 MiB");
  assert.equal(formatBytes(512), "512 B");
  assert.equal(formatBytes(3 * 1024 ** 3), "3.0 GiB");
  setLanguage("zh-CN");
  assert.equal(formatDuration(125), "2 分 5 秒");
  assert.equal(formatDuration(3 * 3600 + 60), "3 小时 1 分");
  assert.match(formatDate("2026-11-30T09:05:00Z"), /2026年11月30日/);
  setLanguage("en");
});

test("failures are told from code and params; unknown codes keep the server's words", () => {
  const noFace = { error_code: "no_face", error_params: { file: "a.mp4", seconds: 10 },
    error_message: "no face found in a.mp4 between 0 s and 10 s; ..." };
  setLanguage("zh-CN");
  assert.equal(failureReason(noFace),
    "在 a.mp4 的第 0 秒到第 10 秒之间没有找到人脸。请使用一张脸清晰可见（正脸、光线充足、不太小）的视频。");
  assert.equal(failureReason({ ...noFace, error_params: {} }), "视频里没有找到人脸。");
  assert.equal(translateError({ code: "brand_new", message: "Server words." }), "Server words.");
  assert.equal(translateError({ code: "not_found", params: { what: "batch", id: "b1" } }),
    "批次 b1 不存在（可能已被删除）。");
  setLanguage("en");
  assert.match(failureReason(noFace), /^No face found in a\.mp4 between 0 s and 10 s/);
  assert.match(failureReason({}), /see its log/);
});

test("language: ?lang= forces, then the remembered switch, then the browser", () => {
  assert.equal(chooseLanguage({ search: "?lang=zh-CN", stored: "en", browser: ["en-US"] }), "zh-CN");
  assert.equal(chooseLanguage({ search: "", stored: "en", browser: ["zh-CN"] }), "en");
  assert.equal(chooseLanguage({ browser: ["zh-TW", "en"] }), "zh-CN");
  assert.equal(chooseLanguage({ browser: ["fr-FR"] }), "en");
});

test("scripts split into sentences like the server, with an estimated duration", () => {
  assert.deepEqual(splitSentences("你好。今天讲课！\nSecond line. Third?"),
    ["你好。", "今天讲课！", "Second line.", "Third?"]);
  assert.deepEqual(splitSentences("  。\n"), []);
  const zh = estimateSeconds("今天我们来学习口型同步。它把声音变成嘴型。");
  assert.ok(zh > 3 && zh < 8, String(zh));
  assert.equal(scriptLanguage("今天我们学 lip sync。"), "zh");
  assert.equal(scriptLanguage("Hello everyone. Today we look at lip sync."), "en");
});

test("a batch that ended partly done says both counts; a voice refusal names the field", () => {
  setLanguage("zh-CN");
  assert.equal(countsText({ succeeded: 2, failed: 1 }, "，"), "2 个完成，1 个失败");
  const needs = translateError({ code: "invalid_voice", params: { voice: "克隆-x", needs: "sample_rate" } });
  assert.equal(needs, "音色 克隆-x 还需要填写：采样率（Hz）。");
  setLanguage("en");
  assert.equal(countsText({ succeeded: 2, failed: 1 }, ", "), "2 done, 1 failed");
  const problems = translateError({ code: "bad_request", params: { problems: "name: too long" } });
  assert.equal(problems, "The request is not valid: name: too long.");
});

test("a dead speech server is named with its engine in the reader's language, its address and the cause", () => {
  // as the server sends it: the engine's English label, and the engine's registered name
  const params = { server: "OpenAI-compatible TTS", engine: "openai", url: "http://127.0.0.1:9/v1",
    attempts: 3, reason: "[Errno 111] Connection refused" };
  setLanguage("zh-CN");
  assert.equal(translateError({ code: "speech_server_failed", params }),
    "无法连接语音合成服务 OpenAI 兼容接口（http://127.0.0.1:9/v1，试了 3 次）：[Errno 111] Connection refused。请检查地址，以及它是否在运行。");
  // with the cause as a word (params.cause), the system's English sentence gives way
  assert.equal(translateError({ code: "speech_server_failed", params: { ...params, cause: "refused" } }),
    "无法连接语音合成服务 OpenAI 兼容接口（http://127.0.0.1:9/v1，试了 3 次）：连接被拒绝（该地址和端口上没有服务在监听）。请检查地址，以及它是否在运行。");
  const tooBig = { server: "CosyVoice", engine: "cosyvoice", url: "http://gpu2:50000",
    reason: "sent more than 64.0 MiB" };
  assert.equal(translateError({ code: "speech_server_failed", params: tooBig }),
    "语音合成服务 CosyVoice（http://gpu2:50000）出错了：sent more than 64.0 MiB");
  const badRate = { server: "OpenAI-compatible TTS", engine: "openai", url: "http://tts:8000", rate: 1 };
  assert.equal(translateError({ code: "speech_bad_audio", params: badRate }),
    "语音合成服务 OpenAI 兼容接口（http://tts:8000）返回了 1 Hz 的音频，这不是语音的采样率。请检查服务的输出格式。");
  setLanguage("en");
  assert.equal(translateError({ code: "speech_server_failed", params }),
    "The speech server OpenAI-compatible TTS at http://127.0.0.1:9/v1 could not be reached (tried 3 times): [Errno 111] Connection refused. Check its URL and that it runs.");
  // an engine the catalogues do not know keeps the server's label
  assert.equal(translateError({ code: "speech_bad_audio", params: { server: "My TTS", engine: "mine" } }),
    "The speech server My TTS answered something that is not usable audio.");
});

test("the upload's time left ignores what a resumed upload had sent before, and waits to know", async () => {
  const { UploadEta, MIN_SPAN_MS } = await import("../../src/lipforge/web/src/uploadeta.js");
  const MiB = 1024 * 1024;
  const eta = new UploadEta();
  // resumed at 42 % of 100 MiB: the first report carries the 42 MiB sent before the refresh
  eta.progress("a", 42 * MiB, 0);
  assert.equal(eta.secondsLeft(58 * MiB, 0), null);
  eta.progress("a", 42.5 * MiB, 500); // then 1 MiB/s
  assert.equal(eta.secondsLeft(57.5 * MiB, 500), null, "no guess before MIN_SPAN_MS of sending");
  for (let at = 1000; at <= MIN_SPAN_MS + 1000; at += 500) eta.progress("a", (42 + at / 1000) * MiB, at);
  const left = eta.secondsLeft(55 * MiB, MIN_SPAN_MS + 1000);
  assert.ok(Math.abs(left - 55) < 1, String(left)); // not ~0 s as if 42 MiB had just gone
  // paused: the next report is a new baseline, not a burst
  eta.stop("a");
  eta.progress("a", 60 * MiB, 60000);
  assert.equal(eta.secondsLeft(40 * MiB, 60000), null);
  setLanguage("zh-CN");
  assert.equal(formatDuration(68), "1 分 8 秒");
  setLanguage("en");
  assert.equal(formatDuration(68), "1 min 08 s");
});
