// The API client of the UI: JSON requests with the session cookie, 401 -> the login page.
// It knows routes and error shapes ({"error": code, "message": ...}); it draws nothing.

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

export function goToLogin() {
  const next = window.location.pathname + window.location.search + window.location.hash;
  window.location.assign(`/login?next=${encodeURIComponent(next)}`);
}

async function errorFrom(response) {
  let code = `http_${response.status}`;
  let message = `The server answered ${response.status} ${response.statusText}.`;
  try {
    const body = await response.json();
    code = body.error || code;
    message = body.message || body.detail?.toString() || message;
    if (Array.isArray(body.detail)) message = body.detail.map((d) => d.msg).join("; ");
  } catch {
    // not JSON: keep the status line
  }
  return new ApiError(response.status, code, message);
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
    throw new ApiError(0, "network", `Cannot reach the server (${exc.message}).`);
  }
  if (response.status === 401) {
    goToLogin();
    throw new ApiError(401, "unauthorized", "Please log in.");
  }
  if (!response.ok) throw await errorFrom(response);
  if (response.status === 204) return null;
  const type = response.headers.get("Content-Type") || "";
  return type.includes("json") ? response.json() : null;
}

// Lists come back either as a bare array or wrapped ({items: [...]}, {assets: [...]}...).
export function itemsOf(page, key) {
  if (Array.isArray(page)) return page;
  if (!page) return [];
  return page.items || page[key] || page.results || [];
}

export const api = {
  listAssets: (kind, limit = 200) =>
    request("GET", `/api/assets?kind=${encodeURIComponent(kind)}&limit=${limit}`),
  deleteAsset: (id) => request("DELETE", `/api/assets/${id}`),
  assetContentUrl: (id) => `/api/assets/${encodeURIComponent(id)}/content`,
  listModels: () => request("GET", "/api/models"),
  createBatch: (options) => request("POST", "/api/batches", options),
  listBatches: (limit = 50) => request("GET", `/api/batches?limit=${limit}`),
  getBatch: (id) => request("GET", `/api/batches/${encodeURIComponent(id)}`),
  cancelBatch: (id) => request("POST", `/api/batches/${encodeURIComponent(id)}/cancel`),
  deleteBatch: (id) => request("DELETE", `/api/batches/${encodeURIComponent(id)}`),
  cancelJob: (id) => request("POST", `/api/jobs/${encodeURIComponent(id)}/cancel`),
  retryJob: (id) => request("POST", `/api/jobs/${encodeURIComponent(id)}/retry`),
  jobOutputUrl: (id) => `/api/jobs/${encodeURIComponent(id)}/output`,
  batchArchiveUrl: (id) => `/api/batches/${encodeURIComponent(id)}/archive`,
  eventsUrl: (batchId) => `/api/events?batch=${encodeURIComponent(batchId)}`,
};
