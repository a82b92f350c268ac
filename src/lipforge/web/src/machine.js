// The machine panel: CPU, memory, free disk, each GPU (or "no GPU"), the queue depth and
// every worker slot with what it does, pushed by the server over /api/machine/events
// every 2 s. It says so while the server is away and carries on when it is back.

import { api } from "./api.js";
import { clear, el } from "./dom.js";
import { formatBytes, formatNumber, formatPercent, t } from "./i18n.js";
import { stageWords } from "./progress.js";

function meter(label, fraction, text, key) {
  const pct = Math.max(0, Math.min(100, (Number(fraction) || 0) * 100));
  return el("div", { class: "meter", "data-meter": key },
    el("div", { class: "meter-head" }, el("span", { class: "meter-label" }, label),
      el("span", { class: "meter-value" }, text)),
    el("div", { class: "meter-bar", role: "meter", "aria-label": label, "aria-valuemin": 0,
      "aria-valuemax": 100, "aria-valuenow": Math.round(pct), "aria-valuetext": text },
    el("div", { class: "meter-fill", style: `width: ${pct.toFixed(1)}%` })));
}

function gpuRows(gpus) {
  if (!gpus.length) return [el("div", { class: "muted small", "data-meter": "gpu" }, t("machine.noGpu"))];
  return gpus.map((gpu) => {
    const util = gpu.utilization_percent === null ? "–" : formatPercent(gpu.utilization_percent / 100);
    const text = t("machine.gpuLine", { name: gpu.name, util,
      used: formatBytes(gpu.memory_used_bytes), total: formatBytes(gpu.memory_total_bytes) });
    return meter(`${t("machine.gpu")} ${gpu.index}`, (gpu.utilization_percent || 0) / 100, text, "gpu");
  });
}

function slotText(slot) {
  if (!slot) return t("machine.idle");
  const total = Number(slot.frames_total) || 0;
  const progress = total && slot.stage !== "speech" ? formatPercent((slot.frames_done || 0) / total) : null;
  return t("machine.slotJob", { name: slot.output_name, stage: stageWords(slot.stage), progress });
}

function slotNode(slot) {
  return el("span", { class: slot ? "data" : "" }, slotText(slot));
}

function workerRows(workers) {
  if (!workers.length) return [el("p", { class: "muted small" }, t("machine.noWorker"))];
  return workers.map((worker) => el("div", { class: "worker", "data-worker": worker.id },
    el("div", { class: "small strong" }, el("span", { class: "data" }, worker.hostname),
      worker.paused_reason ? el("span", { class: "bad" }, ` · ${t("machine.paused",
        { reason: worker.paused_reason })}`) : null),
    el("ul", { class: "slots" }, worker.slots.map((slot, index) => el("li", {
      class: slot ? "busy" : "idle", "data-slot": index },
    el("span", { class: "muted" }, `${t("machine.slot", { n: index + 1 })} `), slotNode(slot))))));
}

function drawSnapshot(body, m) {
  const memory = m.memory_used_bytes / m.memory_total_bytes;
  const disk = 1 - m.disk_free_bytes / m.disk_total_bytes;
  clear(body).append(
    meter(`${t("machine.cpu")} · ${t("machine.cores", { count: m.cpu_count })}`,
      m.cpu_percent / 100, `${formatNumber(m.cpu_percent, 0)} %`, "cpu"),
    meter(t("machine.memory"), memory, t("machine.of", { used: formatBytes(m.memory_used_bytes),
      total: formatBytes(m.memory_total_bytes) }), "memory"),
    meter(t("machine.disk"), disk, t("machine.free", { free: formatBytes(m.disk_free_bytes),
      total: formatBytes(m.disk_total_bytes) }), "disk"),
    ...gpuRows(m.gpus || []),
    el("div", { class: "queue small", "data-meter": "queue" },
      el("span", { class: "meter-label" }, `${t("machine.queue")} `),
      t("machine.queueLine", { queued: m.queue.queued, running: m.queue.running })),
    el("h3", {}, t("machine.workers")), ...workerRows(m.workers || []));
  body.dataset.at = String(m.at);
}

// Mounts the panel into `container`; returns a function that stops it.
export function mountMachinePanel(container) {
  const status = el("p", { class: "away", role: "status", "aria-live": "polite" });
  const body = el("div", { class: "machine-body" }, el("p", { class: "muted small" }, t("common.loading")));
  const panel = el("section", { class: "card machine", id: "machine-panel", "aria-labelledby": "machine-title" },
    el("h2", { id: "machine-title" }, t("machine.title")), status, body);
  container.append(panel);
  let source = null;
  let stopped = false;
  const onSnapshot = (event) => {
    status.textContent = "";
    panel.classList.remove("is-away");
    try {
      drawSnapshot(body, JSON.parse(event.data));
    } catch {
      // a malformed push: keep the last figures
    }
  };
  if (typeof EventSource !== "undefined") {
    const connect = () => {
      source = new EventSource(api.machineEventsUrl(), { withCredentials: true });
      source.addEventListener("machine", onSnapshot);
      source.addEventListener("error", () => {
        if (stopped) return;
        status.textContent = t("machine.away");
        panel.classList.add("is-away");
        // a refused reconnect closes the stream for good: open a new one a little later
        if (source.readyState === EventSource.CLOSED) setTimeout(() => !stopped && connect(), 3000);
      });
    };
    connect();
  } else {
    api.machine().then((m) => drawSnapshot(body, m)).catch(() => null);
  }
  return () => {
    stopped = true;
    source?.close();
  };
}
