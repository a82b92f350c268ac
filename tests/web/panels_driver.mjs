// Drives two panels of the LipForge UI in Debian's chromium (playwright-core), in one language,
// and prints one JSON line with what it saw. Usage: node panels_driver.mjs <config.json>
//   upload:  a throttled upload, the page refreshed at ~40 %, the file added again (it
//            resumes), then unthrottled to the end: every text Uppy's status bar showed, with
//            the percentage at that moment, and the whole panel's text once it is done.
//   batches: the batch list's row of config.batchId: its badge, bar and label, at 390 and
//            1440 px (screenshots beside the config).
//   voices:  a voice added in the form (OpenAI-compatible, at config.deadUrl where nothing
//            listens) and tried: the failure under it, and the facts of the voices listed.

import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";

const config = JSON.parse(readFileSync(process.argv[2], "utf8"));
const require = createRequire(path.join(config.webDir, "package.json"));
const { chromium } = require("playwright-core");

const FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
  "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
  "--disable-dev-shm-usage"];
const SAMPLE_EVERY_MS = 200;
const result = { browserErrors: [] };

async function throttle(cdp, bytesPerS) {
  await cdp.send("Network.emulateNetworkConditions", {
    offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: bytesPerS,
  });
}

async function addFile(page) {
  const input = page.locator("#upload-panel input.uppy-Dashboard-input").first();
  if (!(await input.count())) await page.locator("#upload-panel .uppy-DashboardContent-addMore").click();
  await input.setInputFiles(config.video);
}

async function statusNow(page) {
  return page.evaluate(() => {
    const bar = document.querySelector("#upload-panel .uppy-StatusBar-progress");
    const text = document.querySelector("#upload-panel .uppy-StatusBar-content")?.innerText || "";
    return { percent: bar ? Number(bar.getAttribute("aria-valuenow")) : null, text: text.trim() };
  });
}

// Status texts every SAMPLE_EVERY_MS until `until(status)` or `ms` have passed.
async function sample(page, { ms, until = () => false }) {
  const seen = [];
  const started = Date.now();
  while (Date.now() - started < ms) {
    const now = await statusNow(page);
    if (now.text) seen.push({ atMs: Date.now() - started, ...now });
    if (until(now)) break;
    await page.waitForTimeout(SAMPLE_EVERY_MS);
  }
  return seen;
}

async function uploadRun(page) {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send("Network.enable");
  await page.goto(`${config.baseUrl}?lang=${config.lang}`);
  await page.locator("#upload-panel .uppy-Dashboard").waitFor({ timeout: 15000 });
  await throttle(cdp, config.bytesPerS);
  await addFile(page);
  result.before = await sample(page, { ms: 60000, until: (s) => s.percent >= config.refreshAtPercent });
  await page.reload();
  await page.locator("#upload-panel .uppy-Dashboard").waitFor({ timeout: 15000 });
  await throttle(cdp, config.bytesPerS);
  await addFile(page);
  result.afterResume = await sample(page, { ms: config.resumeWatchMs });
  await page.screenshot({ path: path.join(config.screenshots, `upload-${config.lang}-resumed.png`) });
  await throttle(cdp, -1);
  const outcome = page.locator(`#upload-outcomes li[data-file="${path.basename(config.video)}"]`).first();
  await outcome.waitFor({ timeout: 60000 });
  result.outcome = await outcome.getAttribute("data-outcome");
  await page.locator("#upload-panel .uppy-StatusBar.is-complete").waitFor({ timeout: 15000 });
  result.done = await page.locator("#upload-panel .uppy-Dashboard").innerText();
  result.doneTitles = await page.evaluate(() => [...document.querySelectorAll("#upload-panel [title]")]
    .map((node) => node.getAttribute("title")));
  await page.screenshot({ path: path.join(config.screenshots, `upload-${config.lang}-done.png`) });
}

async function batchesRun(page) {
  result.rows = {};
  for (const width of [390, 1440]) {
    await page.setViewportSize({ width, height: 900 });
    await page.goto(`${config.baseUrl}?lang=${config.lang}#/batches`);
    const row = page.locator(`#batch-list li[data-batch="${config.batchId}"]`);
    await row.waitFor({ timeout: 15000 });
    await page.waitForTimeout(300);
    result.rows[width] = await row.evaluate((li) => {
      const pill = li.querySelector(".pill");
      const bar = li.querySelector(".bar");
      const fill = bar.querySelector(".fill");
      const box = (node) => node.getBoundingClientRect();
      return {
        state: li.dataset.state, pillText: pill.innerText, pillClass: pill.className,
        pillColor: getComputedStyle(pill).backgroundColor,
        fillShare: box(fill).width / box(bar).width,
        fillColor: getComputedStyle(fill).backgroundColor, barColor: getComputedStyle(bar).backgroundColor,
        label: bar.querySelector(".bar-label").innerText, valueText: bar.getAttribute("aria-valuetext"),
        pillInside: box(pill).right <= box(li).right + 0.5,
        meta: li.querySelector(".muted.small").innerText,
      };
    });
    await page.screenshot({ path: path.join(config.screenshots, `batches-${config.lang}-${width}.png`),
      fullPage: true });
  }
  // the batch's own page draws its overall bar the same way
  await page.goto(`${config.baseUrl}?lang=${config.lang}#/batches/${config.batchId}`);
  await page.locator("#batch-progress .bar").waitFor({ timeout: 15000 });
  await page.waitForFunction(() => document.querySelectorAll("#job-list .job").length >= 3, null,
    { timeout: 15000 });
  await page.waitForTimeout(500);
  result.page = await page.evaluate(() => {
    const overall = document.querySelector("#batch-progress");
    const bar = overall.querySelector(".bar");
    const fill = bar.querySelector(".fill");
    return { state: overall.dataset.state, label: bar.innerText,
      fillShare: fill.getBoundingClientRect().width / bar.getBoundingClientRect().width,
      fillColor: getComputedStyle(fill).backgroundColor, barColor: getComputedStyle(bar).backgroundColor };
  });
}

async function voicesRun(page) {
  await page.goto(`${config.baseUrl}?lang=${config.lang}#/voices`);
  await page.locator("#voice-form").waitFor({ timeout: 15000 });
  await page.locator("#voice-name").fill(config.voiceName);
  await page.locator("#voice-engine").selectOption("openai");
  result.engineOption = await page.locator("#voice-engine option:checked").innerText();
  await page.locator('#voice-form [data-field="url"] input').fill(config.deadUrl);
  await page.locator('#voice-form [data-field="model"] input').fill("tts-1");
  await page.locator('#voice-form button[type="submit"]').click();
  const item = page.locator(`li[data-voice="${config.voiceName}"]`);
  await item.waitFor({ timeout: 15000 });
  await item.locator("button", { hasText: config.testLabel }).click();
  const failure = item.locator('.form-error, [role="alert"]').first();
  await failure.locator("strong").waitFor({ timeout: 60000 });
  result.failure = await failure.locator("strong").innerText();
  result.serverWords = await failure.evaluate((box) => {
    const details = box.querySelector("details");
    return details && { open: details.open, summary: details.querySelector("summary").innerText,
      hidden: !details.querySelector("[translate=no]").checkVisibility() };
  });
  result.facts = await page.evaluate(() => Object.fromEntries([...document.querySelectorAll("li[data-voice]")]
    .map((li) => [li.dataset.voice, [...li.querySelectorAll("dd")].map((dd) => dd.innerText)])));
  await page.screenshot({ path: path.join(config.screenshots, `voices-${config.lang}.png`), fullPage: true });
}

async function main() {
  const browser = await chromium.launch({ executablePath: "/usr/bin/chromium", args: FLAGS });
  try {
    const context = await browser.newContext({ viewport: { width: 1200, height: 900 } });
    const page = await context.newPage();
    page.on("pageerror", (err) => result.browserErrors.push(String(err)));
    if (config.mode === "upload") await uploadRun(page);
    else if (config.mode === "voices") await voicesRun(page);
    else await batchesRun(page);
  } finally {
    await browser.close();
  }
}

main().then(() => process.stdout.write(`${JSON.stringify(result)}\n`)).catch((exc) => {
  result.error = String(exc?.stack || exc);
  process.stdout.write(`${JSON.stringify(result)}\n`);
  process.exitCode = 1;
});
