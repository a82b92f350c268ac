// The engine's model hint on the "New batch" page: when the chosen engine's weights are not
// installed, say which model it needs (size, licence) and offer to download it on the
// server, showing the pull's progress by polling GET /api/models/{name}.

import { api, errorText, itemsOf, request } from "./api.js";
import { clear, el, progressBar, toast } from "./dom.js";
import { formatBytes, formatPercent, t, translateError } from "./i18n.js";

const PULL_POLL_MS = 1000;

function pullLine(model) {
  const pull = model.pull;
  if (!pull) return null;
  if (pull.status === "failed") {
    const reason = pull.error_code ? translateError({ code: pull.error_code, params: pull.error_params || {},
      message: pull.error }) : pull.error;
    return el("p", { class: "bad" }, t("model.failed", { reason }));
  }
  const fraction = pull.total_bytes ? pull.done_bytes / pull.total_bytes : 0;
  return progressBar(fraction, t("model.phase", { percent: formatPercent(fraction),
    size: formatBytes(pull.total_bytes) }));
}

async function pollPull(name, box, onInstalled) {
  const model = await request("GET", `/api/models/${encodeURIComponent(name)}`);
  if (!box.isConnected) return;
  if (model.installed) {
    onInstalled();
    return;
  }
  clear(box).append(el("span", { class: "muted small" }, t("model.pulling", { model: name })), pullLine(model));
  if (model.pull?.status === "running") {
    setTimeout(() => pollPull(name, box, onInstalled).catch(() => null), PULL_POLL_MS);
  }
}

function missingModelHint(model, box, onInstalled) {
  const start = el("button", { class: "small", type: "button" }, t("model.pull"));
  start.addEventListener("click", async () => {
    try {
      await request("POST", `/api/models/${encodeURIComponent(model.name)}/pull`);
      await pollPull(model.name, box, onInstalled);
    } catch (exc) {
      toast(errorText(exc), "bad");
    }
  });
  return el("div", { class: "model-hint" },
    el("p", {}, t("model.needs", { engine: model.engine, model: model.name,
      size: formatBytes(model.download_bytes) }),
    model.licence ? el("br") : null, model.licence ? el("span", { class: "muted small" },
      t("model.licence", { licence: model.licence })) : null),
    start, pullLine(model));
}

// Keeps `box` saying whether the engine chosen in `select` can run; returns a refresh function.
export function watchEngineModels(select, box) {
  let models = [];
  const draw = () => {
    clear(box);
    const mine = models.filter((m) => m.engine === select.value);
    if (!mine.length || mine.some((m) => m.installed)) return;
    const [model] = mine;
    if (model.pull?.status === "running") {
      pollPull(model.name, box, refresh).catch(() => null);
      return;
    }
    box.append(missingModelHint(model, box, refresh));
  };
  const refresh = async () => {
    try {
      models = itemsOf(await api.listModels(), "models");
    } catch {
      models = [];
    }
    for (const option of select.options) {
      const mine = models.filter((m) => m.engine === option.value);
      option.dataset.installed = String(!mine.length || mine.some((m) => m.installed));
    }
    draw();
  };
  select.addEventListener("change", draw);
  refresh();
  return refresh;
}
