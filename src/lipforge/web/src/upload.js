// The upload panel: Uppy's Dashboard sending files with tus to /api/uploads/, resumable
// across page refreshes (tus-js-client keeps each upload's URL in localStorage under a
// fingerprint of the file), and the list of what each finished upload became (an asset
// id, or the server's reason for refusing it). It does not list the asset library.

import Uppy from "@uppy/core";
import Dashboard from "@uppy/dashboard";
import zhCN from "@uppy/locales/lib/zh_CN.js";
import Tus from "@uppy/tus";
import "@uppy/core/css/style.min.css";
import "@uppy/dashboard/css/style.min.css";

import { goToLogin } from "./api.js";
import { clear, el } from "./dom.js";
import { formatBytes, formatDuration, formatPercent, language, t, translateError } from "./i18n.js";
import { UploadEta } from "./uploadeta.js";

export const UPLOAD_ENDPOINT = "/api/uploads/";
export const CHUNK_SIZE_BYTES = 8 * 1024 * 1024;
const RETRY_DELAYS_MS = [0, 1000, 3000, 5000, 10000, 20000, 30000];
const UPPY_INSTANCE_ID = "lipforge";
const ASSET_WAIT_INTERVAL_MS = 700;
const ASSET_WAIT_LIMIT_MS = 120000;
const TUS_STORAGE_PREFIX = "tus::";
const ACCEPTED_TYPES = ["audio/*", "video/*", ".mp4", ".mov", ".mkv", ".webm", ".avi", ".m4a",
  ".mp3", ".wav", ".aac", ".flac", ".ogg", ".opus"];

// Uppy's Chinese strings (@uppy/locales' zh_CN), mended where they read oddly together: one
// word for "done" (not 上传完成 / 上传完毕 / 完成 at once), and the button says what it does
// (it clears the list). The time left is ours in both languages (LipforgeDashboard below).
const ZH_LOCALE = { ...zhCN, strings: { ...zhCN.strings, complete: "上传完成", done: "清空列表" } };
// English likewise says "Upload complete" at the top and in the status bar (not "Complete").
const EN_LOCALE = { strings: { complete: "Upload complete" } };

// Uppy's time left replaced by UploadEta's, written the page's way ("剩余 1 分 8 秒",
// "1 min 08 s left"): Uppy's own reads "0s" right after a resume, in English units.
const eta = new UploadEta();

function bytesLeft(instance) {
  return instance.getObjectOfFilesPerState().startedFiles.reduce((sum, file) =>
    sum + Math.max(0, (file.progress.bytesTotal || 0) - (file.progress.bytesUploaded || 0)), 0);
}

export function timeLeftText(instance = getUppy(), nowMs = performance.now()) {
  const seconds = eta.secondsLeft(bytesLeft(instance), nowMs);
  return seconds === null ? t("upload.estimating") : t("upload.timeLeft", { time: formatDuration(seconds) });
}

class LipforgeDashboard extends Dashboard {
  i18nInit() {
    super.i18nInit();
    const uppys = this.i18n;
    this.i18n = (key, options) => (key === "xTimeLeft" ? timeLeftText(this.uppy) : uppys(key, options));
  }
}

function followProgress(instance) {
  instance.on("upload-progress", (file, progress) => {
    if (file) eta.progress(file.id, progress.bytesUploaded, performance.now());
  });
  for (const name of ["upload-success", "upload-error", "file-removed", "upload-retry"]) {
    instance.on(name, (file) => file && eta.stop(file.id));
  }
  instance.on("upload-pause", (file) => file && eta.stop(file.id));
  for (const name of ["pause-all", "resume-all", "retry-all", "cancel-all"]) instance.on(name, () => eta.reset());
}

// One Uppy for the page's lifetime: re-rendering the view re-mounts its Dashboard. Each
// file carries the scope of the panel it was added in ("batch", "voice-reference"), so a
// panel lists and hands on only its own uploads.
const DEFAULT_SCOPE = "batch";
let currentScope = DEFAULT_SCOPE;
let uppy = null;
const outcomes = [];
const outcomeListeners = new Set();

export function onUploadOutcome(listener) {
  outcomeListeners.add(listener);
  return () => outcomeListeners.delete(listener);
}


function assetIdOf(info) {
  return info.asset_id || info.assetId || info.asset?.id || null;
}

// A refusal as {code, params, message}: translated where it is shown.
function refusalOf(info) {
  const message = info.error_message || info.error || info.refusal || info.reason;
  if (!message && !info.error_code) return null;
  return { code: info.error_code || "upload_refused", params: info.error_params || {},
    message: typeof message === "string" ? message : message?.message || "" };
}

// The server ingests a finished upload (probe, hash, move); ask until it says what came of it.
async function waitForOutcome(uploadUrl) {
  const deadline = Date.now() + ASSET_WAIT_LIMIT_MS;
  while (Date.now() < deadline) {
    const response = await fetch(uploadUrl, {
      credentials: "same-origin",
      headers: { Accept: "application/json", "Tus-Resumable": "1.0.0" },
    });
    if (response.status === 401) goToLogin();
    if (response.ok) {
      const info = await response.json();
      const assetId = assetIdOf(info);
      const refusal = refusalOf(info);
      if (assetId || refusal) return { assetId, refusal };
    } else if (response.status !== 404) {
      return { assetId: null, refusal: { code: "http", params: { status: response.status } } };
    }
    await new Promise((resolve) => setTimeout(resolve, ASSET_WAIT_INTERVAL_MS));
  }
  return { assetId: null, refusal: { code: "upload_refused", params: {}, message: t("upload.noOutcome") } };
}

function recordOutcome(outcome) {
  outcomes.unshift(outcome);
  for (const listener of outcomeListeners) listener(outcome);
}

// A refused file must not keep Uppy's green "Complete": mark it as failed in the panel.
function markRefused(file, refusal) {
  const instance = getUppy();
  if (!instance.getFile(file.id)) return;
  instance.setFileState(file.id, { error: refusalText(refusal),
    progress: { ...instance.getFile(file.id).progress, uploadComplete: false } });
  instance.setState({ error: refusalText(refusal) });
}

async function onUploadSuccess(file, response) {
  const xhr = response?.body?.xhr;
  const assetId = xhr?.getResponseHeader?.("Upload-Asset-Id") || null;
  let outcome = { assetId, refusal: null };
  if (!assetId) outcome = await waitForOutcome(response.uploadURL);
  if (outcome.refusal) markRefused(file, outcome.refusal);
  recordOutcome({ name: file.name, size: file.size, scope: scopeOf(file), ...outcome });
}

function scopeOf(file) {
  return file?.meta?.lipforgeScope || DEFAULT_SCOPE;
}

function onUploadError(file, error, response) {
  if (response?.status === 401) {
    goToLogin();
    return;
  }
  let refusal = { code: "upload_failed", params: {}, message: error?.message || "" };
  const body = response?.body?.xhr?.responseText || error?.originalResponse?.getBody?.();
  if (body) {
    try {
      const parsed = JSON.parse(body);
      refusal = { code: parsed.error, params: parsed.params || {}, message: parsed.message };
    } catch {
      refusal.message = body.slice(0, 300);
    }
  }
  recordOutcome({ name: file.name, size: file.size, scope: scopeOf(file), assetId: null, refusal });
}

export function refusalText(refusal) {
  if (!refusal) return "";
  if (refusal.code === "http") return t("upload.serverAnswered", refusal.params);
  return translateError(refusal);
}

function createUppy() {
  const instance = new Uppy({
    id: UPPY_INSTANCE_ID,
    autoProceed: true,
    restrictions: { allowedFileTypes: ACCEPTED_TYPES },
    locale: language() === "zh-CN" ? ZH_LOCALE : EN_LOCALE,
  });
  instance.use(Tus, {
    endpoint: UPLOAD_ENDPOINT,
    chunkSize: CHUNK_SIZE_BYTES,
    retryDelays: RETRY_DELAYS_MS,
    removeFingerprintOnSuccess: true,
    storeFingerprintForResuming: true,
    allowedMetaFields: ["name", "type"],
    limit: 2,
  });
  instance.on("upload-success", (file, response) => {
    onUploadSuccess(file, response).catch((exc) =>
      recordOutcome({ name: file.name, size: file.size, scope: scopeOf(file), assetId: null,
        refusal: { code: "upload_failed", params: {}, message: exc.message } }));
  });
  instance.on("upload-error", onUploadError);
  followProgress(instance);
  instance.on("file-added", (file) => instance.setFileMeta(file.id, { lipforgeScope: currentScope }));
  return instance;
}

export function getUppy() {
  if (!uppy) uppy = createUppy();
  return uppy;
}

// What tus-js-client remembers of uploads that did not finish (e.g. before a page refresh).
export function interruptedUploads() {
  const found = [];
  for (let i = 0; i < window.localStorage.length; i += 1) {
    const key = window.localStorage.key(i);
    if (!key || !key.startsWith(TUS_STORAGE_PREFIX)) continue;
    try {
      const entry = JSON.parse(window.localStorage.getItem(key));
      found.push({ key, ...entry, name: entry.metadata?.filename || entry.metadata?.name || "?" });
    } catch {
      // an entry another app wrote: ignore it
    }
  }
  return found.sort((a, b) => String(b.creationTime).localeCompare(String(a.creationTime)));
}

async function uploadedBytes(uploadUrl) {
  const response = await fetch(uploadUrl, {
    credentials: "same-origin",
    headers: { Accept: "application/json", "Tus-Resumable": "1.0.0" },
  });
  if (!response.ok) return null;
  const info = await response.json();
  return Number(info.offset_bytes);
}

async function forgetUpload(entry) {
  window.localStorage.removeItem(entry.key);
  if (entry.uploadUrl) {
    await fetch(entry.uploadUrl, {
      method: "DELETE",
      credentials: "same-origin",
      headers: { "Tus-Resumable": "1.0.0" },
    }).catch(() => null);
  }
}

function renderInterrupted(box) {
  clear(box);
  const busy = new Set(getUppy().getFiles().map((f) => f.name));
  const entries = interruptedUploads().filter((entry) => !busy.has(entry.name));
  if (!entries.length) return;
  box.append(el("h3", {}, t("upload.interrupted")),
    el("p", { class: "hint" }, t("upload.interruptedHint")));
  const list = el("ul", { class: "interrupted" });
  for (const entry of entries) {
    const status = el("span", { class: "muted" }, formatBytes(entry.size));
    const forget = el("button", { class: "link", type: "button" }, t("upload.forget"));
    forget.addEventListener("click", async () => {
      await forgetUpload(entry);
      renderInterrupted(box);
    });
    list.append(el("li", { "data-upload": entry.name }, el("strong", { class: "file-name" }, entry.name),
      " ", status, " ", forget));
    if (entry.uploadUrl) {
      uploadedBytes(entry.uploadUrl).then((offset) => {
        status.dataset.offset = offset === null ? "" : String(offset);
        if (offset === null) status.textContent = t("upload.expired");
        else status.textContent = t("upload.partly", { percent: formatPercent(offset / entry.size),
          size: formatBytes(entry.size) });
      }).catch(() => null);
    }
  }
  box.append(list);
}

function renderOutcome(outcome) {
  const what = outcome.assetId
    ? el("span", { class: "ok" }, `✓ ${t("upload.asset")}`)
    : el("span", { class: "bad" }, `✗ ${t("upload.refused", { reason: refusalText(outcome.refusal) })}`);
  return el("li", { "data-file": outcome.name, "data-outcome": outcome.assetId ? "asset" : "refused",
    "data-asset": outcome.assetId || null },
    el("strong", { class: "file-name" }, outcome.name), " ",
    el("span", { class: "muted" }, formatBytes(outcome.size)), " — ", what);
}

// Completed files another panel added leave Uppy's list, so they never show here as ours.
function dropOtherScopes(instance, scope) {
  for (const file of instance.getFiles()) {
    if (scopeOf(file) !== scope && file.progress?.uploadComplete) instance.removeFile(file.id);
  }
}

export function mountUploadPanel(container, { onAsset, note, height = 300, scope = DEFAULT_SCOPE } = {}) {
  const dashboardTarget = el("div", { class: "uppy-target" });
  const interruptedBox = el("div", { class: "interrupted-box" });
  const outcomeList = el("ul", { class: "outcomes", id: "upload-outcomes", "aria-live": "polite" });
  container.append(interruptedBox, dashboardTarget, outcomeList);
  for (const outcome of outcomes.filter((o) => (o.scope || DEFAULT_SCOPE) === scope)) {
    outcomeList.append(renderOutcome(outcome));
  }

  const instance = getUppy();
  currentScope = scope;
  dropOtherScopes(instance, scope);
  const previous = instance.getPlugin("Dashboard");
  if (previous) instance.removePlugin(previous);
  instance.use(LipforgeDashboard, {
    target: dashboardTarget,
    inline: true,
    height,
    width: "100%",
    proudlyDisplayPoweredByUppy: false,
    showProgressDetails: true,
    note: note || t("upload.note"),
  });
  renderInterrupted(interruptedBox);
  const refresh = () => renderInterrupted(interruptedBox);
  instance.on("file-added", refresh);
  const stop = onUploadOutcome((outcome) => {
    if ((outcome.scope || DEFAULT_SCOPE) !== scope) return;
    outcomeList.prepend(renderOutcome(outcome));
    refresh();
    if (outcome.assetId && onAsset) onAsset(outcome.assetId, outcome);
  });
  return () => {
    stop();
    instance.off("file-added", refresh);
  };
}
