// The upload panel: Uppy's Dashboard sending files with tus to /api/uploads/, resumable
// across page refreshes (tus-js-client keeps each upload's URL in localStorage under a
// fingerprint of the file), and the list of what each finished upload became (an asset
// id, or the server's reason for refusing it). It does not list the asset library.

import Uppy from "@uppy/core";
import Dashboard from "@uppy/dashboard";
import Tus from "@uppy/tus";
import "@uppy/core/css/style.min.css";
import "@uppy/dashboard/css/style.min.css";

import { goToLogin } from "./api.js";
import { formatBytes, formatPercent } from "./progress.js";
import { el, clear } from "./dom.js";

export const UPLOAD_ENDPOINT = "/api/uploads/";
export const CHUNK_SIZE_BYTES = 8 * 1024 * 1024;
const RETRY_DELAYS_MS = [0, 1000, 3000, 5000, 10000, 20000, 30000];
const UPPY_INSTANCE_ID = "lipforge";
const ASSET_WAIT_INTERVAL_MS = 700;
const ASSET_WAIT_LIMIT_MS = 120000;
const TUS_STORAGE_PREFIX = "tus::";
const ACCEPTED_TYPES = ["audio/*", "video/*", ".mp4", ".mov", ".mkv", ".webm", ".avi", ".m4a",
  ".mp3", ".wav", ".aac", ".flac", ".ogg", ".opus"];

// One Uppy for the page's lifetime: re-rendering the view re-mounts its Dashboard.
let uppy = null;
const outcomes = [];
const outcomeListeners = new Set();

export function onUploadOutcome(listener) {
  outcomeListeners.add(listener);
  return () => outcomeListeners.delete(listener);
}

function uploadIdFrom(url) {
  return (url || "").replace(/\/+$/, "").split("/").pop();
}

function assetIdOf(info) {
  return info.asset_id || info.assetId || info.asset?.id || null;
}

function refusalOf(info) {
  const error = info.error_message || info.error || info.refusal || info.reason;
  if (!error) return null;
  return typeof error === "string" ? error : error.message || JSON.stringify(error);
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
      return { assetId: null, refusal: `The server answered ${response.status} about this upload.` };
    }
    await new Promise((resolve) => setTimeout(resolve, ASSET_WAIT_INTERVAL_MS));
  }
  return { assetId: null, refusal: "The server did not say what became of this upload." };
}

function recordOutcome(outcome) {
  outcomes.unshift(outcome);
  for (const listener of outcomeListeners) listener(outcome);
}

async function onUploadSuccess(file, response) {
  const xhr = response?.body?.xhr;
  let assetId = xhr?.getResponseHeader?.("Upload-Asset-Id") || null;
  let refusal = xhr?.getResponseHeader?.("Upload-Error") || null;
  if (!assetId && !refusal) ({ assetId, refusal } = await waitForOutcome(response.uploadURL));
  recordOutcome({ name: file.name, size: file.size, assetId, refusal: decodeHeader(refusal) });
}

function decodeHeader(value) {
  if (!value) return value;
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

function onUploadError(file, error, response) {
  if (response?.status === 401) {
    goToLogin();
    return;
  }
  let reason = error?.message || "The upload failed.";
  const body = response?.body?.xhr?.responseText;
  if (body) {
    try {
      reason = JSON.parse(body).message || reason;
    } catch {
      reason = body.slice(0, 300);
    }
  }
  recordOutcome({ name: file.name, size: file.size, assetId: null, refusal: reason });
}

function createUppy() {
  const instance = new Uppy({
    id: UPPY_INSTANCE_ID,
    autoProceed: true,
    restrictions: { allowedFileTypes: ACCEPTED_TYPES },
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
      recordOutcome({ name: file.name, size: file.size, assetId: null, refusal: exc.message }),
    );
  });
  instance.on("upload-error", onUploadError);
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
    method: "HEAD",
    credentials: "same-origin",
    headers: { "Tus-Resumable": "1.0.0" },
  });
  if (!response.ok) return null;
  return Number(response.headers.get("Upload-Offset"));
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
  box.append(el("h3", {}, "Interrupted uploads"),
    el("p", { class: "hint" }, "Add the same file again and it continues where it stopped."));
  const list = el("ul", { class: "interrupted" });
  for (const entry of entries) {
    const status = el("span", { class: "muted" }, `${formatBytes(entry.size)}`);
    const forget = el("button", { class: "link" }, "Forget");
    forget.addEventListener("click", async () => {
      await forgetUpload(entry);
      renderInterrupted(box);
    });
    list.append(el("li", { "data-upload": entry.name }, el("strong", {}, entry.name), " ", status,
      " ", forget));
    if (entry.uploadUrl) {
      uploadedBytes(entry.uploadUrl).then((offset) => {
        if (offset === null) status.textContent = "expired on the server: it will start again";
        else status.textContent = `${formatPercent(offset / entry.size)} of ${formatBytes(entry.size)} uploaded`;
      }).catch(() => null);
    }
  }
  box.append(list);
}

function renderOutcome(outcome) {
  const what = outcome.assetId
    ? el("span", { class: "ok" }, "asset ", el("code", { class: "asset-id" }, outcome.assetId))
    : el("span", { class: "bad" }, `refused: ${outcome.refusal}`);
  return el("li", { "data-file": outcome.name }, el("strong", {}, outcome.name), " — ", what);
}

export function mountUploadPanel(container, { onAsset } = {}) {
  const dashboardTarget = el("div", { id: "uppy-dashboard" });
  const interruptedBox = el("div", { class: "interrupted-box" });
  const outcomeList = el("ul", { class: "outcomes", id: "upload-outcomes" });
  container.append(el("h2", {}, "Upload"), interruptedBox, dashboardTarget, outcomeList);
  for (const outcome of outcomes) outcomeList.append(renderOutcome(outcome));

  const instance = getUppy();
  const previous = instance.getPlugin("Dashboard");
  if (previous) instance.removePlugin(previous);
  instance.use(Dashboard, {
    target: dashboardTarget,
    inline: true,
    height: 300,
    width: "100%",
    proudlyDisplayPoweredByUppy: false,
    showProgressDetails: true,
    note: "Audio or video files. A dropped connection or a page refresh loses at most one 8 MB chunk.",
  });
  renderInterrupted(interruptedBox);
  const refresh = () => renderInterrupted(interruptedBox);
  instance.on("file-added", refresh);
  const stop = onUploadOutcome((outcome) => {
    outcomeList.prepend(renderOutcome(outcome));
    refresh();
    if (outcome.assetId && onAsset) onAsset(outcome.assetId);
  });
  return () => {
    stop();
    instance.off("file-added", refresh);
  };
}
