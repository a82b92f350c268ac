// The "New batch" page: the upload panel, the audio and video assets with previews, the
// selection (one audio x many videos, or many audios x one video), engine and fit, and
// "Create batch". It does not show batches (batches.js does).

import { api, itemsOf } from "./api.js";
import { clear, el, toast } from "./dom.js";
import { formatBytes, formatDuration } from "./progress.js";
import { watchEngineModels } from "./models.js";
import { mountUploadPanel } from "./upload.js";

const ENGINES = [
  { name: "meshwarp", label: "meshwarp — built in, CPU, no download" },
  { name: "wav2lip", label: "wav2lip — Wav2Lip ONNX model, sharper mouths, needs a download" },
];
const FITS = [
  { name: "pingpong", label: "pingpong — play the video forth and back to cover the audio" },
  { name: "loop", label: "loop — restart the video from the beginning" },
  { name: "trim", label: "trim — stop at the shorter of audio and video" },
];
const PRELOAD_METADATA_MAX = 24;

function describeAsset(asset) {
  const parts = [formatDuration(asset.duration_s), formatBytes(asset.size_bytes)];
  if (asset.width && asset.height) parts.push(`${asset.width}×${asset.height}`);
  if (asset.fps) parts.push(`${Number(asset.fps).toFixed(2).replace(/\.?0+$/, "")} fps`);
  return parts.filter(Boolean).join(" · ");
}

function preview(asset, preload) {
  const src = api.assetContentUrl(asset.id);
  if (asset.kind === "audio") return el("audio", { controls: true, preload: "none", src });
  return el("video", { controls: true, muted: true, playsinline: true, preload, src });
}

function assetCard(asset, selection, preload, onChange) {
  const box = el("input", { type: "checkbox", value: asset.id, "data-kind": asset.kind });
  box.checked = selection.has(asset.id);
  box.addEventListener("change", () => {
    if (box.checked) selection.add(asset.id);
    else selection.delete(asset.id);
    onChange();
  });
  return el("li", { class: `asset ${asset.kind}`, "data-asset": asset.id },
    el("label", { class: "pick" }, box, el("span", { class: "name" }, asset.original_name || asset.id)),
    preview(asset, preload),
    el("div", { class: "muted small" }, describeAsset(asset)),
    el("code", { class: "muted tiny" }, asset.id));
}

function selectionProblem(audioCount, videoCount) {
  if (!audioCount || !videoCount) return "Choose at least one audio and one video.";
  if (audioCount > 1 && videoCount > 1) {
    return "Choose one audio with many videos, or many audios with one video.";
  }
  return null;
}

function optionSelect(name, options) {
  return el("select", { name, id: `batch-${name}` },
    options.map((o) => el("option", { value: o.name }, o.label)));
}

export function renderLibrary(root) {
  const state = { audio: [], video: [], audioSel: new Set(), videoSel: new Set() };
  const uploadBox = el("section", { class: "card" });
  const audioList = el("ul", { class: "assets", id: "audio-assets" });
  const videoList = el("ul", { class: "assets", id: "video-assets" });
  const engine = optionSelect("engine", ENGINES);
  const fit = optionSelect("fit", FITS);
  const modelBox = el("div", { id: "model-hint" });
  const summary = el("p", { class: "summary", id: "batch-summary" });
  const create = el("button", { class: "primary", id: "create-batch", disabled: true }, "Create batch");

  const updateSummary = () => {
    const problem = selectionProblem(state.audioSel.size, state.videoSel.size);
    const outputs = state.audioSel.size * state.videoSel.size;
    summary.textContent = problem || `${outputs} video${outputs === 1 ? "" : "s"} will be made.`;
    summary.classList.toggle("bad", Boolean(problem) && (state.audioSel.size + state.videoSel.size) > 0);
    create.disabled = Boolean(problem);
  };

  const drawList = (list, assets, selection, emptyText) => {
    clear(list);
    if (!assets.length) list.append(el("li", { class: "empty muted" }, emptyText));
    const preload = assets.length <= PRELOAD_METADATA_MAX ? "metadata" : "none";
    for (const asset of assets) list.append(assetCard(asset, selection, preload, updateSummary));
  };

  const load = async () => {
    const [audio, video] = await Promise.all([api.listAssets("audio"), api.listAssets("video")]);
    state.audio = itemsOf(audio, "assets");
    state.video = itemsOf(video, "assets");
    drawList(audioList, state.audio, state.audioSel, "No audio yet: upload a recording above.");
    drawList(videoList, state.video, state.videoSel, "No videos yet: upload face videos above.");
    updateSummary();
  };

  create.addEventListener("click", async () => {
    create.disabled = true;
    try {
      const batch = await api.createBatch({
        audio_asset_ids: [...state.audioSel],
        video_asset_ids: [...state.videoSel],
        engine: engine.value,
        fit: fit.value,
      });
      const id = batch.id || batch.batch?.id;
      window.location.hash = `#/batches/${id}`;
    } catch (exc) {
      toast(exc.message, "bad");
      updateSummary();
    }
  });

  const stopUploads = mountUploadPanel(uploadBox, { onAsset: () => load().catch(() => null) });
  root.append(
    uploadBox,
    el("section", { class: "card" },
      el("div", { class: "row" },
        el("h2", {}, "Assets"),
        el("button", { class: "link", onclick: () => load().catch((e) => toast(e.message, "bad")) },
          "Refresh")),
      el("div", { class: "columns" },
        el("div", {}, el("h3", {}, "Audio"), audioList),
        el("div", {}, el("h3", {}, "Videos"), videoList))),
    el("section", { class: "card" },
      el("h2", {}, "Batch"),
      el("div", { class: "form" },
        el("label", {}, "Engine ", engine),
        el("label", {}, "Fit ", fit)),
      modelBox, summary, create),
  );
  watchEngineModels(engine, modelBox);
  load().catch((exc) => toast(exc.message, "bad"));
  return stopUploads;
}
