// Drives the LipForge UI in Debian's chromium (playwright-core, no downloaded browser) as a
// person would: upload a video with the network throttled, refresh mid-upload, add the file
// again and see it resume; upload an audio; pick both; create a batch; watch it reach 100 %
// live (SSE), then again with the event stream blocked (polling). Prints one JSON line.
// Usage: node ui_driver.mjs <config.json>  (baseUrl, video, audio, screenshots, webDir)

import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";

const config = JSON.parse(readFileSync(process.argv[2], "utf8"));
const require = createRequire(path.join(config.webDir, "package.json"));
const { chromium } = require("playwright-core");

const CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu",
  "--disable-background-networking", "--disable-component-update", "--disable-sync",
  "--no-first-run", "--disable-quic", "--disable-dev-shm-usage"];
const THROTTLE_BYTES_PER_S = config.throttleBytesPerS || 64 * 1024;
const REFRESH_AT_PERCENT = 30;
const RENDER_TIMEOUT_MS = config.renderTimeoutMs || 240000;
const result = { steps: [], browserErrors: [] };

function step(name, extra = {}) {
  result.steps.push({ name, atMs: Date.now() - started, ...extra });
}
const started = Date.now();

async function shot(page, name) {
  const file = path.join(config.screenshots, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}

async function throttle(page, bytesPerS) {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send("Network.enable");
  await cdp.send("Network.emulateNetworkConditions", {
    offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: bytesPerS,
  });
  return cdp;
}

function watchUploads(page, log) {
  page.on("request", (request) => {
    if (!request.url().includes("/api/uploads/")) return;
    const headers = request.headers();
    log.push({ method: request.method(), url: request.url(), offset: headers["upload-offset"] ?? null });
  });
}

async function addFile(page, file) {
  const input = page.locator("input.uppy-Dashboard-input").first();
  if (!(await input.count())) await page.locator(".uppy-DashboardContent-addMore").click();
  await input.setInputFiles(file);
}

async function assetIdFor(page, name, timeoutMs = 60000) {
  const item = page.locator(`#upload-outcomes li[data-file="${name}"]`).first();
  await item.waitFor({ timeout: timeoutMs });
  const text = await item.innerText();
  const code = item.locator("code.asset-id");
  return { text, assetId: (await code.count()) ? await code.innerText() : null };
}

async function uploadWithRefresh(page) {
  const name = path.basename(config.video);
  const requests = [];
  watchUploads(page, requests);
  const cdp = await throttle(page, THROTTLE_BYTES_PER_S);
  await addFile(page, config.video);
  await page.waitForFunction((percent) => {
    const bar = document.querySelector(".uppy-StatusBar-progress");
    return bar && Number(bar.getAttribute("aria-valuenow")) >= percent;
  }, REFRESH_AT_PERCENT, { timeout: 60000 });
  const percentBeforeRefresh = Number(await page.locator(".uppy-StatusBar-progress")
    .getAttribute("aria-valuenow"));
  step("refresh", { percentBeforeRefresh });
  const before = requests.length;
  await page.reload();
  await cdp.send("Network.emulateNetworkConditions", {
    offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: -1,
  });
  await page.locator(".interrupted-box li").first().waitFor({ timeout: 15000 });
  await page.waitForFunction(() => /uploaded/.test(
    document.querySelector(".interrupted-box li")?.innerText || ""), null, { timeout: 15000 });
  result.interruptedText = await page.locator(".interrupted-box").innerText();
  result.shots = { interrupted: await shot(page, "1-interrupted-after-refresh") };
  await addFile(page, config.video);
  const outcome = await assetIdFor(page, name);
  result.video = { ...outcome, percentBeforeRefresh, requestsBefore: requests.slice(0, before),
    requestsAfter: requests.slice(before) };
  step("video uploaded", outcome);
}

async function uploadAudio(page) {
  await addFile(page, config.audio);
  result.audio = await assetIdFor(page, path.basename(config.audio));
  step("audio uploaded", result.audio);
  await addFile(page, config.garbage);
  result.garbage = await assetIdFor(page, path.basename(config.garbage));
  step("garbage refused", result.garbage);
}

async function createBatch(page, audioId, videoId, screenshotName) {
  await page.locator("button", { hasText: "Refresh" }).click();
  await page.locator(`#audio-assets input[value="${audioId}"]`).check();
  await page.locator(`#video-assets input[value="${videoId}"]`).check();
  const summary = await page.locator("#batch-summary").innerText();
  if (screenshotName) result.shots.library = await shot(page, screenshotName);
  await page.locator("#create-batch").click();
  await page.waitForURL(/#\/batches\/.+/, { timeout: 15000 });
  const batchId = decodeURIComponent(page.url().split("#/batches/")[1]);
  step("batch created", { batchId });
  return { batchId, summary };
}

async function jobStates(page) {
  return page.locator("#job-list .job").evaluateAll((jobs) => jobs.map((j) => j.dataset.state));
}

async function waitForJobState(page, wanted) {
  await page.locator(`#job-list .job[data-state="${wanted}"]`).first()
    .waitFor({ timeout: RENDER_TIMEOUT_MS });
}

// A long job: cancel it while it runs, retry it, then stop it with "Cancel batch".
async function cancelAndRetry(page) {
  await page.goto(config.baseUrl);
  await addFile(page, config.longAudio);
  const upload = await assetIdFor(page, path.basename(config.longAudio));
  await createBatch(page, upload.assetId, result.video.assetId);
  const job = page.locator("#job-list .job").first();
  await waitForJobState(page, "running");
  await page.waitForFunction(() => /fps/.test(document.querySelector("#job-list .detail")?.innerText),
    null, { timeout: 30000 });
  result.shots.running = await shot(page, "6-job-running");
  const clickedAt = Date.now();
  await job.locator("button", { hasText: "Cancel" }).click();
  await waitForJobState(page, "cancelled");
  const cancelMs = Date.now() - clickedAt;
  result.shots.cancelled = await shot(page, "7-job-cancelled");
  await job.locator("button", { hasText: "Retry" }).click();
  await page.locator('#job-list .job:is([data-state="queued"], [data-state="running"])')
    .waitFor({ timeout: RENDER_TIMEOUT_MS });
  await page.locator("button", { hasText: "Cancel batch" }).click();
  await waitForJobState(page, "cancelled");
  return { cancelMs, counts: await page.locator("#batch-counts").innerText() };
}

async function downloadAll(page, batchId) {
  await page.goto(`${config.baseUrl}#/batches/${batchId}`);
  const href = await page.locator("#download-all").getAttribute("href");
  const archive = await page.request.get(new URL(href, config.baseUrl).toString());
  const body = await archive.body();
  return { archiveStatus: archive.status(), archiveMagic: body.subarray(0, 2).toString("latin1"),
    archiveBytes: body.length };
}

// A face video without a face: the job fails with the reason in words; Retry runs it again.
async function failingBatch(page) {
  await page.goto(config.baseUrl);
  await addFile(page, config.noFaceVideo);
  const upload = await assetIdFor(page, path.basename(config.noFaceVideo));
  await createBatch(page, result.audio.assetId, upload.assetId);
  const job = page.locator("#job-list .job").first();
  await page.locator('#job-list .job[data-state="failed"]').waitFor({ timeout: RENDER_TIMEOUT_MS });
  const reason = await job.locator(".reason").innerText();
  result.shots.failed = await shot(page, "5-batch-failed");
  await job.locator("button", { hasText: "Retry" }).click();
  const statesAfterRetry = ["failed"];
  const deadline = Date.now() + RENDER_TIMEOUT_MS;
  while (Date.now() < deadline) {
    const [state] = await jobStates(page);
    if (state !== statesAfterRetry.at(-1)) statesAfterRetry.push(state);
    if (state === "failed" && statesAfterRetry.length > 2) break;
    await page.waitForTimeout(100);
  }
  const attemptReason = await job.locator(".reason").innerText();
  return { reason, statesAfterRetry, attemptReason };
}

async function watchBatch(page, label) {
  const seen = new Set();
  const modes = new Set();
  const deadline = Date.now() + RENDER_TIMEOUT_MS;
  while (Date.now() < deadline) {
    const now = await page.evaluate(() => ({
      percent: document.querySelector("#batch-progress [role=progressbar]")
        ?.getAttribute("aria-valuenow"),
      mode: document.querySelector("#live-mode")?.dataset.mode,
      states: [...document.querySelectorAll("#job-list .job")].map((j) => j.dataset.state),
    }));
    if (now.percent !== undefined && now.percent !== null) seen.add(Number(now.percent));
    if (now.mode) modes.add(now.mode);
    if (now.percent === "100" && now.states.length && now.states.every((s) => s === "succeeded")) {
      await page.locator("#job-list video").first().waitFor({ timeout: 10000 });
      const info = { percents: [...seen].sort((a, b) => a - b), modes: [...modes],
        states: now.states, detail: await page.locator("#job-list .detail").first().innerText() };
      step(`batch done (${label})`, info);
      return info;
    }
    if (now.states.some((s) => s === "failed")) {
      return { failed: await page.locator("#job-list").innerText(), modes: [...modes] };
    }
    await page.waitForTimeout(150);
  }
  return { timeout: true, percents: [...seen], modes: [...modes] };
}

async function logIn(page) {
  await page.goto(config.baseUrl);
  result.loggedIn = false;
  if (!page.url().includes("/login")) return;
  await page.locator("input[name=token]").fill(config.token);
  await page.locator("button[type=submit]").click();
  await page.waitForURL((url) => !url.pathname.startsWith("/login"), { timeout: 15000 });
  result.loggedIn = true;
  step("logged in");
}

async function main() {
  const browser = await chromium.launch({ executablePath: config.chromium || "/usr/bin/chromium",
    args: CHROMIUM_FLAGS });
  try {
    const context = await browser.newContext({ viewport: { width: 1200, height: 900 } });
    const page = await context.newPage();
    page.on("pageerror", (err) => result.browserErrors.push(String(err)));
    await logIn(page);
    await page.locator(".uppy-Dashboard").waitFor({ timeout: 15000 });
    await uploadWithRefresh(page);
    await uploadAudio(page);
    const made = await createBatch(page, result.audio.assetId, result.video.assetId,
      "2-library-selected");
    result.batchId = made.batchId;
    result.summary = made.summary;
    const polling = await context.newPage();
    polling.on("pageerror", (err) => result.browserErrors.push(String(err)));
    await polling.route("**/api/events**", (route) => route.abort());
    await polling.goto(`${config.baseUrl}#/batches/${result.batchId}`);
    [result.live, result.polling] = await Promise.all([
      watchBatch(page, "live"), watchBatch(polling, "polling")]);
    result.shots.batch = await shot(page, "3-batch-done");
    await polling.goto(`${config.baseUrl}#/batches`);
    await polling.locator(`#batch-list li[data-batch="${result.batchId}"]`).waitFor();
    result.shots.list = await shot(polling, "4-batch-list");
    result.failing = await failingBatch(page);
    result.cancelled = await cancelAndRetry(page);
    result.archive = await downloadAll(page, result.batchId);
  } finally {
    await browser.close();
  }
}

main().then(() => {
  process.stdout.write(`${JSON.stringify(result)}\n`);
}).catch((exc) => {
  result.error = String(exc?.stack || exc);
  process.stdout.write(`${JSON.stringify(result)}\n`);
  process.exitCode = 1;
});
