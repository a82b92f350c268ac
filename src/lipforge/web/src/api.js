// The API client of the UI: JSON requests with the session cookie, 401 -> the login page.
// It knows routes and error shapes ({"error": code, "message", "params"}); it draws nothing.
// `errorText(exc)` is any failure in the reader's language.

import { t, translateError } from "./i18n.js";

export class ApiError extends Error {
  constructor(status, code, message, params = {}) {
    super(message);
    this.status = status;
    this.code = code;
    this.params = params || {};
  }
}

export function errorText(exc) {
  if (exc instanceof ApiError) {
    if (exc.code === "network") return t("errors.network");
    return translateError({ code: exc.code, params: exc.params, message: exc.message });
  }
  return exc?.message || t("errors.unknown");
}

export function goToLogin() {
  const next = window.location.pathname + window.location.search + window.location.hash;
  window.location.assign(`/login?next=${encodeURIComponent(next)}`);
}

export async function errorFrom(response) {
  let code = `http_${response.status}`;
  let message = t("errors.http", { status: response.status });
  let params = {};
  try {
    const body = await response.json();
    code = body.error || code;
    message = body.message || message;
    params = body.params || {};
  } catch {
    // not JSON: keep the status line
  }
  return new ApiError(response.status, code, message, params);
}

export async function request(method, path, body) {
  const init = { method, credentials: "same-origin", headers: { Accept: "application/json" } };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(path, init);
  } catch (exc) {
    throw new ApiError(0, "network", exc.message);
  }
  if (response.status === 401) {
    goToLogin();
    throw new ApiError(401, "unauthorized", "Please log in.");
  }
  if (!response.ok) throw await errorFrom(response);
  if (response.status === 204) return null;
  const type = response.headers.get("Content-Type") || "";
  return type.includes("json") ? response.json() : response;
}

// Lists come back either as a bare array or wrapped ({items: [...]}, {voices: [...]}...).
export function itemsOf(page, key) {
  if (Array.isArray(page)) return page;
  if (!page) return [];
  return page.items || page[key] || page.results || [];
}

const enc = encodeURIComponent;

export const api = {
  session: () => request("GET", "/api/session"),
  listAssets: (kind, limit = 100) => request("GET", `/api/assets?kind=${enc(kind)}&limit=${limit}`),
  getAsset: (id) => request("GET", `/api/assets/${enc(id)}`),
  deleteAsset: (id) => request("DELETE", `/api/assets/${enc(id)}`),
  setTranscript: (id, transcript) => request("PATCH", `/api/assets/${enc(id)}`, { transcript }),
  assetContentUrl: (id) => `/api/assets/${enc(id)}/content`,
  listModels: () => request("GET", "/api/models"),
  listVoices: () => request("GET", "/api/voices"),
  addVoice: (voice) => request("POST", "/api/voices", voice),
  removeVoice: (name) => request("DELETE", `/api/voices/${enc(name)}`),
  voicePreviewUrl: (name) => `/api/voices/${enc(name)}/preview`,
  createBatch: (options) => request("POST", "/api/batches", options),
  renameBatch: (id, name) => request("PATCH", `/api/batches/${enc(id)}`, { name }),
  listBatches: (limit = 50) => request("GET", `/api/batches?limit=${limit}`),
  getBatch: (id) => request("GET", `/api/batches/${enc(id)}`),
  cancelBatch: (id) => request("POST", `/api/batches/${enc(id)}/cancel`),
  deleteBatch: (id) => request("DELETE", `/api/batches/${enc(id)}`),
  cancelJob: (id) => request("POST", `/api/jobs/${enc(id)}/cancel`),
  retryJob: (id) => request("POST", `/api/jobs/${enc(id)}/retry`),
  jobOutputUrl: (id) => `/api/jobs/${enc(id)}/output`,
  jobSubtitlesUrl: (id, format) => `/api/jobs/${enc(id)}/subtitles.${format}`,
  batchArchiveUrl: (id) => `/api/batches/${enc(id)}/archive`,
  eventsUrl: (batchId) => `/api/events?batch=${enc(batchId)}`,
  machineEventsUrl: () => "/api/machine/events",
  machine: () => request("GET", "/api/machine"),
};

// POST that answers audio (a voice preview): an object URL to play, or an ApiError.
export async function fetchAudio(path, body) {
  let response;
  try {
    response = await fetch(path, { method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", Accept: "audio/wav, application/json" },
      body: JSON.stringify(body) });
  } catch (exc) {
    throw new ApiError(0, "network", exc.message);
  }
  if (response.status === 401) goToLogin();
  if (!response.ok) throw await errorFrom(response);
  return URL.createObjectURL(await response.blob());
}
