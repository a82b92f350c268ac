// Drives the "what it says" box of an audio card in Debian's chromium (playwright-core), in
// one language, and prints one JSON line with what it saw: the box's label, the toast after
// saving, the text after a reload, and the page's errors. Usage: node transcript_driver.mjs <config.json>

import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";

const config = JSON.parse(readFileSync(process.argv[2], "utf8"));
const require = createRequire(path.join(config.webDir, "package.json"));
const { chromium } = require("playwright-core");

const FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
  "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-dev-shm-usage"];
const result = { browserErrors: [] };

async function boxOf(page) {
  const card = page.locator(`#audio-assets li.asset[data-asset="${config.assetId}"]`);
  await card.waitFor({ timeout: 20000 });
  return card.locator(".transcript-box");
}

async function run(page) {
  await page.goto(`${config.baseUrl}?lang=${config.lang}`);
  const box = await boxOf(page);
  result.label = await box.locator("summary").innerText();
  result.openBefore = await box.evaluate((node) => node.open);
  if (!result.openBefore) await box.locator("summary").click(); // open once it holds words
  await box.locator("textarea").fill(config.text);
  await box.locator('button[data-action="save-transcript"]').click();
  await page.locator("#toast.show").waitFor({ timeout: 10000 });
  result.toast = await page.locator("#toast").innerText();
  await page.screenshot({ path: path.join(config.screenshots, `transcript-${config.lang}.png`), fullPage: true });
  await page.reload();
  const again = await boxOf(page);
  result.openAfter = await again.evaluate((node) => node.open);
  result.textAfter = await again.locator("textarea").inputValue();
}

async function main() {
  const browser = await chromium.launch({ executablePath: "/usr/bin/chromium", args: FLAGS });
  try {
    const page = await (await browser.newContext({ viewport: { width: 1200, height: 900 } })).newPage();
    page.on("pageerror", (err) => result.browserErrors.push(String(err)));
    await run(page);
  } finally {
    await browser.close();
  }
}

main().then(() => process.stdout.write(`${JSON.stringify(result)}\n`)).catch((exc) => {
  result.error = String(exc?.stack || exc);
  process.stdout.write(`${JSON.stringify(result)}\n`);
  process.exitCode = 1;
});
