// Drives the LipForge UI in Debian's chromium (playwright-core, no downloaded browser) as a
// person would, in one language per run, and prints one JSON line with what it saw.
//   zh: log in, upload with a refresh mid-upload (it resumes), a refused file, a script with
//       a voice and its preview, N x M, the batch to a video playing in the gallery with its
//       subtitles, a failing job's reason, the machine panel, every page checked for English.
//   en: ?lang= forces English, the switch is remembered, no "Log out" on an open server; a
//       long scripted job across a server restart ("reconnecting"), cancel and retry.
// It prints {"restart": true} and waits for config.restartFlag when it wants the server
// restarted (the Python test does it). Usage: node ui_driver.mjs <config.json>

import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";

const config = JSON.parse(readFileSync(process.argv[2], "utf8"));
const require = createRequire(path.join(config.webDir, "package.json"));
const { chromium } = require("playwright-core");

const CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu",
  "--disable-background-networking", "--disable-component-update", "--disable-sync",
  "--no-first-run", "--disable-quic", "--disable-dev-shm-usage", "--autoplay-policy=no-user-gesture-required"];
const THROTTLE_BYTES_PER_S = 16 * 1024;
const REFRESH_AT_PERCENT = 30;
const RENDER_TIMEOUT_MS = 150000;
const WIDTHS = [390, 1440];
// Words that stay as they are in Chinese: units, formats, product and engine names.
const ALLOWED_WORDS = new Set(["lipforge", "mp4", "srt", "vtt", "gpu", "cpu", "b", "kib", "mib", "gib",
  "tib", "zip", "txt", "mov", "mkv", "webm", "wav", "mp3", "m4a", "flac", "ogg", "opus", "aac", "h",
  "espeak", "meshwarp", "wav2lip", "piper", "cosyvoice", "fish-speech", "openai", "access_token", "http",
  "hz", "api", "cosyvoice-300m", "cosyvoice2", "alloy"]);
const result = { steps: [], browserErrors: [], shots: {} };
const started = Date.now();

function step(name, extra = {}) {
  result.steps.push({ name, atMs: Date.now() - started, ...extra });
}

function emit(object) {
  process.stdout.write(`${JSON.stringify(object)}\n`);
}

async function shot(page, name) {
  const file = path.join(config.screenshots, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  result.shots[name] = file;
}

// Visible words outside [translate=no] data that are not in the allowlist.
async function englishOnPage(page) {
  return page.evaluate((allowed) => {
    const found = [];
    const skip = "script, style, noscript, textarea, [translate='no'], option:not(:checked)";
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    const check = (text, where) => {
      for (const word of text.match(/[A-Za-z][A-Za-z0-9_'-]*/g) || []) {
        if (!allowed.includes(word.toLowerCase())) found.push({ word, text: text.trim().slice(0, 80), where });
      }
    };
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      const parent = node.parentElement;
      if (!parent || parent.closest(skip) || !parent.checkVisibility()) continue;
      // file names and ids inside sentences ("coffee.mp4", "no_face") are data too
      check(node.textContent.replace(/\S*[._/:]\S*/g, " "), parent.tagName);
    }
    for (const input of document.querySelectorAll("input[placeholder], textarea[placeholder]")) {
      if (input.checkVisibility()) check(input.placeholder.replace(/\S*[._/:]\S*/g, " "), "placeholder");
    }
    return found;
  }, [...ALLOWED_WORDS]);
}

// Visible controls a keyboard or screen-reader user could not name (no label, no text).
async function unlabelledControls(page) {
  return page.evaluate(() => [...document.querySelectorAll("input, select, textarea, button, a[href]")]
    .filter((c) => c.checkVisibility() && c.type !== "hidden" && c.tabIndex >= 0)
    .filter((c) => !(c.labels?.length || c.getAttribute("aria-label") || c.getAttribute("aria-labelledby")
      || c.title || c.textContent.trim()))
    .map((c) => c.outerHTML.slice(0, 120)));
}

async function throttle(page, bytesPerS) {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send("Network.enable");
  await cdp.send("Network.emulateNetworkConditions", {
    offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: bytesPerS,
  });
  return cdp;
}

async function addFile(page, file) {
  const input = page.locator("#upload-panel input.uppy-Dashboard-input").first();
  if (!(await input.count())) await page.locator("#upload-panel .uppy-DashboardContent-addMore").click();
  await input.setInputFiles(file);
}

async function outcomeFor(page, name, timeoutMs = 60000) {
  const item = page.locator(`#upload-outcomes li[data-file="${name}"]`).first();
  await item.waitFor({ timeout: timeoutMs });
  return { text: await item.innerText(), outcome: await item.getAttribute("data-outcome"),
    assetId: await item.getAttribute("data-asset") };
}

async function uploadWithRefresh(page) {
  const name = path.basename(config.video);
  const requests = [];
  page.on("request", (request) => {
    if (!request.url().includes("/api/uploads/")) return;
    requests.push({ method: request.method(), offset: request.headers()["upload-offset"] ?? null });
  });
  const cdp = await throttle(page, THROTTLE_BYTES_PER_S);
  await addFile(page, config.video);
  await page.waitForFunction((percent) => {
    const bar = document.querySelector(".uppy-StatusBar-progress");
    return bar && Number(bar.getAttribute("aria-valuenow")) >= percent;
  }, REFRESH_AT_PERCENT, { timeout: 60000 });
  const percentBeforeRefresh = Number(await page.locator(".uppy-StatusBar-progress")
    .getAttribute("aria-valuenow"));
  const before = requests.length;
  await page.reload();
  await cdp.send("Network.emulateNetworkConditions", {
    offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: -1,
  });
  const status = page.locator(".interrupted-box li .muted").first();
  await page.waitForFunction(() => Number(document.querySelector(".interrupted-box li .muted")
    ?.dataset.offset) > 0, null, { timeout: 15000 });
  const interrupted = { text: await page.locator(".interrupted-box").innerText(),
    offset: Number(await status.getAttribute("data-offset")) };
  await shot(page, "zh-interrupted-upload");
  await addFile(page, config.video);
  const outcome = await outcomeFor(page, name);
  result.upload = { ...outcome, percentBeforeRefresh, interrupted, requestsAfter: requests.slice(before) };
  step("video uploaded after a refresh", { percentBeforeRefresh });
}

async function typeScript(page, text) {
  const area = page.locator("#script-list textarea").first();
  await area.fill(text);
  // the server's count (POST /api/scripts/plan) replaces the quick local guess
  await page.locator('#script-list .script-stats[data-source="server"]').first().waitFor({ timeout: 10000 });
  return page.locator("#script-list .script-stats").first().innerText();
}

async function previewFirstSentence(page) {
  await page.locator("#script-list .script button", { hasText: config.previewLabel }).first().click();
  await page.waitForFunction(() => {
    const player = document.querySelector("#script-list .preview-player");
    return player && !player.hidden && player.readyState >= 1 && player.duration > 0;
  }, null, { timeout: 60000 });
  return page.evaluate(() => document.querySelector("#script-list .preview-player").duration);
}

// A .txt dropped on the Scripts panel becomes another script: N x M says so, then it goes.
async function dropScriptFile(page, videoId) {
  await page.evaluate(() => {
    const data = new DataTransfer();
    data.items.add(new File(["第二段文稿。它来自一个文本文件。"], "第二讲.txt", { type: "text/plain" }));
    document.querySelector("#scripts-panel").dispatchEvent(new DragEvent("drop",
      { dataTransfer: data, bubbles: true, cancelable: true }));
  });
  const second = page.locator("#script-list .script").nth(1);
  await second.locator(".script-stats").filter({ hasText: "2" }).waitFor({ timeout: 10000 });
  const dropped = await second.locator("textarea").inputValue();
  await chooseOnlyVideo(page, videoId);
  const summary = await page.locator("#batch-summary").innerText();
  await second.locator("button", { hasText: config.removeLabel }).click();
  return { dropped, summary };
}

// Fresh uploads come ticked: untick the others, tick this one.
async function chooseOnlyVideo(page, videoId) {
  const others = page.locator(`#video-assets input:checked:not([value="${videoId}"])`);
  while (await others.count()) await others.first().uncheck();
  await page.locator(`#video-assets input[value="${videoId}"]`).check();
}

async function tickedVideos(page) {
  await page.locator("#video-assets input").first().waitFor({ timeout: 15000 });
  return page.evaluate(() => [...document.querySelectorAll("#video-assets input:checked")].map((b) => b.value));
}

async function createBatch(page, videoId) {
  await page.locator("#library-title ~ button, #library-title + button").first().click().catch(() => null);
  await page.locator(`#video-assets input[value="${videoId}"]`).waitFor({ timeout: 15000 });
  await chooseOnlyVideo(page, videoId);
  const summary = await page.locator("#batch-summary").innerText();
  await page.locator("#create-batch").click();
  await page.waitForURL(/#\/batches\/.+/, { timeout: 15000 });
  const batchId = decodeURIComponent(page.url().split("#/batches/")[1]);
  await page.waitForFunction(() => document.querySelector("#batch-name-edit")?.value, null, { timeout: 15000 });
  const name = await page.locator("#batch-name-edit").inputValue();
  step("batch created", { batchId, summary, name });
  return { batchId, summary, name };
}

// Follows the first job until `until(state)`; collects the stages and progress lines seen.
async function followJob(page, until) {
  const seen = { stages: new Set(), details: new Set(), modes: new Set() };
  const deadline = Date.now() + RENDER_TIMEOUT_MS;
  while (Date.now() < deadline) {
    const now = await page.evaluate(() => {
      const job = document.querySelector("#job-list .job");
      return { state: job?.dataset.state, stage: job?.querySelector(".stage")?.innerText,
        detail: job?.querySelector(".detail")?.innerText, mode: document.querySelector("#live-mode")?.dataset.mode };
    });
    if (now.stage) seen.stages.add(now.stage);
    if (now.detail) seen.details.add(now.detail);
    if (now.mode) seen.modes.add(now.mode);
    if (until(now.state)) {
      return { state: now.state, stages: [...seen.stages], details: [...seen.details], modes: [...seen.modes] };
    }
    await page.waitForTimeout(200);
  }
  return { timeout: true, stages: [...seen.stages], details: [...seen.details] };
}

async function galleryVideoPlays(page) {
  const video = page.locator("#results video").first();
  await video.waitFor({ timeout: 15000 });
  return page.evaluate(async () => {
    const v = document.querySelector("#results video");
    v.muted = true;
    const track = v.querySelector("track");
    if (track) v.textTracks[0].mode = "showing";
    // play() can be aborted while the card still settles on its #t=0.1 frame (AbortError):
    // try again, a few times; how far it played is what the test checks
    let aborted = 0;
    for (let attempt = 0; attempt < 3 && v.currentTime <= 0.2; attempt += 1) {
      try {
        await v.play();
      } catch (exc) {
        if (exc.name !== "AbortError") throw exc;
        aborted += 1;
      }
      await new Promise((resolve) => setTimeout(resolve, 1500));
    }
    const cues = v.textTracks[0]?.cues ? [...v.textTracks[0].cues].map((c) => c.text) : [];
    const card = v.closest(".result");
    return { currentTime: v.currentTime, duration: v.duration, aborted, trackSrc: track?.getAttribute("src") || null,
      cues, links: [...card.querySelectorAll("a")].map((a) => a.getAttribute("href")) };
  });
}

async function machineIsLive(page) {
  const body = page.locator("#machine-panel .machine-body");
  await page.waitForFunction(() => document.querySelector("#machine-panel .machine-body")?.dataset.at,
    null, { timeout: 15000 });
  const first = await body.getAttribute("data-at");
  await page.waitForFunction((at) => {
    const now = document.querySelector("#machine-panel .machine-body")?.dataset.at;
    return now && now !== at;
  }, first, { timeout: 15000 });
  return { text: await body.innerText(), pushes: [first, await body.getAttribute("data-at")] };
}

async function walkPages(page, lang, batchId) {
  const pages = { new: "#/", voices: "#/voices", batches: "#/batches", batch: `#/batches/${batchId}`,
    results: "#/results" };
  const english = {};
  const unlabelled = [];
  result.unlabelled = unlabelled;
  for (const width of WIDTHS) {
    await page.setViewportSize({ width, height: 900 });
    for (const [name, hash] of Object.entries(pages)) {
      await page.goto(`${config.baseUrl}${hash}`);
      await page.locator("#machine-panel .machine-body[data-at], #voice-list li, .page-title")
        .first().waitFor({ timeout: 15000 });
      await page.waitForTimeout(300);
      if (lang === "zh-CN" && width === WIDTHS[1]) english[name] = await englishOnPage(page);
      if (width === WIDTHS[1]) unlabelled.push(...(await unlabelledControls(page)).map((c) => `${name}: ${c}`));
      await shot(page, `${lang}-${name}-${width}`);
    }
  }
  await page.setViewportSize({ width: 1200, height: 900 });
  return english;
}

async function logIn(page) {
  await page.goto(config.baseUrl);
  await page.waitForURL(/\/login/, { timeout: 15000 });
  const login = { lang: await page.evaluate(() => document.documentElement.lang),
    title: await page.locator("h1").innerText() };
  for (const width of WIDTHS) {
    await page.setViewportSize({ width, height: 800 });
    await shot(page, `zh-CN-login-${width}`);
  }
  login.english = await englishOnPage(page);
  await page.setViewportSize({ width: 1200, height: 900 });
  await page.locator("input[name=token]").fill(config.token);
  await page.locator("button[type=submit]").click();
  await page.waitForURL((url) => !url.pathname.startsWith("/login"), { timeout: 15000 });
  result.login = login;
}

async function chineseRun(page) {
  await logIn(page);
  await page.locator(".uppy-Dashboard").waitFor({ timeout: 15000 });
  result.htmlLang = await page.evaluate(() => document.documentElement.lang);
  result.logoutVisible = await page.locator("#logout").isVisible();
  await uploadWithRefresh(page);
  await addFile(page, config.garbage);
  result.garbage = await outcomeFor(page, path.basename(config.garbage));
  result.garbage.uppyItem = await page.locator(".uppy-Dashboard-Item", { hasText: path.basename(config.garbage) })
    .first().getAttribute("class");
  await addFile(page, config.noFaceVideo);
  result.noFace = await outcomeFor(page, path.basename(config.noFaceVideo));
  await page.waitForFunction((n) => document.querySelectorAll("#video-assets input:checked").length >= n, 2,
    { timeout: 15000 }).catch(() => null);
  result.ticked = await tickedVideos(page);
  result.scriptStats = await typeScript(page, config.script);
  result.previewSeconds = await previewFirstSentence(page);
  step("preview heard");
  result.drop = await dropScriptFile(page, result.upload.assetId);
  const made = await createBatch(page, result.upload.assetId);
  result.batch = { ...made, ...(await followJob(page, (s) => s === "succeeded" || s === "failed")) };
  result.batch.jobText = await page.locator("#job-list .job").first().innerText();
  step("batch finished");
  result.gallery = await galleryVideoPlays(page);
  result.machine = await machineIsLive(page);
  await shot(page, "zh-CN-batch-done");
  await page.goto(config.baseUrl);
  await typeScript(page, config.script);
  const failing = await createBatch(page, result.noFace.assetId);
  await followJob(page, (s) => s === "failed" || s === "succeeded");
  result.failing = { batchId: failing.batchId, reason: await page.locator("#job-list .job .reason").first().innerText() };
  step("failing job seen");
  result.english = await walkPages(page, "zh-CN", made.batchId);
  step("pages walked");
}

async function waitForRestart() {
  emit({ restart: true });
  const deadline = Date.now() + 90000;
  while (!existsSync(config.restartFlag) && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

async function englishRun(page) {
  await page.goto(`${config.baseUrl}?lang=en`);
  await page.locator(".uppy-Dashboard").waitFor({ timeout: 15000 });
  result.forced = { htmlLang: await page.evaluate(() => document.documentElement.lang),
    nav: await page.locator(".topbar nav").innerText() };
  result.logoutVisible = await page.locator("#logout").isVisible();
  await page.locator("#language").selectOption("zh-CN");
  await page.waitForFunction(() => document.documentElement.lang === "zh-CN", null, { timeout: 15000 });
  await page.goto(config.baseUrl);
  result.remembered = await page.evaluate(() => document.documentElement.lang);
  await page.locator("#language").selectOption("en");
  await page.waitForFunction(() => document.documentElement.lang === "en", null, { timeout: 15000 });
  await page.locator(".uppy-Dashboard").waitFor({ timeout: 15000 });
  await addFile(page, config.video);
  const video = await outcomeFor(page, path.basename(config.video));
  await addFile(page, config.noFaceVideo);
  const noFace = await outcomeFor(page, path.basename(config.noFaceVideo));
  await typeScript(page, config.longScript);
  const made = await createBatch(page, video.assetId);
  result.summary = made.summary;
  result.running = await followJob(page, (s) => s === "running");
  step("job running");
  // The server goes away and comes back: the page says so, then carries on.
  const modes = [];
  const watch = setInterval(() => {
    page.evaluate(() => document.querySelector("#live-mode")?.dataset.mode).then((m) => {
      if (m && modes.at(-1) !== m) modes.push(m);
    }).catch(() => null);
  }, 100);
  await waitForRestart();
  await page.waitForFunction(() => document.querySelector("#live-mode")?.dataset.mode === "live",
    null, { timeout: 60000 }).catch(() => null);
  await page.waitForTimeout(500);
  clearInterval(watch);
  result.restart = { modes, notice: modes.includes("reconnecting") };
  step("back after the restart", result.restart);
  await shot(page, "en-batch-after-restart");
  const job = page.locator("#job-list .job").first();
  await page.locator('#job-list .job:is([data-state="running"], [data-state="queued"])').waitFor({ timeout: 60000 });
  await job.locator('button[data-action="cancel"]').click();
  await page.locator('#job-list .job[data-state="cancelled"]').waitFor({ timeout: 30000 });
  await job.locator('button[data-action="retry"]').click();
  await page.locator('#job-list .job:is([data-state="queued"], [data-state="running"])').waitFor({ timeout: 30000 });
  await page.locator("#cancel-batch").click();
  await page.locator('#job-list .job[data-state="cancelled"]').waitFor({ timeout: 30000 });
  result.cancelled = { counts: await page.locator("#batch-counts").innerText() };
  step("cancelled, retried, cancelled");
  result.machine = await machineIsLive(page);
  await page.goto(config.baseUrl);
  await typeScript(page, config.shortScript);
  await createBatch(page, noFace.assetId);
  await followJob(page, (s) => s === "failed" || s === "succeeded");
  result.failing = { reason: await page.locator("#job-list .job .reason").first().innerText() };
  step("failing job seen");
  await walkPages(page, "en", made.batchId);
}

async function main() {
  const browser = await chromium.launch({ executablePath: "/usr/bin/chromium", args: CHROMIUM_FLAGS });
  try {
    const context = await browser.newContext({ viewport: { width: 1200, height: 900 },
      locale: config.browserLocale });
    const page = await context.newPage();
    page.on("pageerror", (err) => result.browserErrors.push(String(err)));
    if (config.run === "zh") await chineseRun(page);
    else await englishRun(page);
  } finally {
    await browser.close();
  }
}

main().then(() => emit(result)).catch((exc) => {
  result.error = String(exc?.stack || exc);
  emit(result);
  process.exitCode = 1;
});
