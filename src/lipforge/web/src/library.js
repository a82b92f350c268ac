// The "New batch" page: the upload panel and the Scripts panel side by side, the audio and
// video assets with previews, the selection (one audio or script x many videos, or many x
// one video: the page says N x M before you start), name, engine and fit, "Create batch",
// and the machine panel. It does not show batches (batches.js does).

import { api, errorText, itemsOf } from "./api.js";
import { clear, el, field, toast } from "./dom.js";
import { formatBytes, formatDuration, formatNumber, t } from "./i18n.js";
import { mountMachinePanel } from "./machine.js";
import { watchEngineModels } from "./models.js";
import { mountScriptsPanel, splitSentences } from "./scripts.js";
import { mountUploadPanel } from "./upload.js";

const ENGINES = ["meshwarp", "wav2lip"];
const FITS = ["pingpong", "loop", "trim"];
const PRELOAD_METADATA_MAX = 24;
const NAME_FROM_SCRIPT_CHARS = 40;
const MAX_TRANSCRIPT_CHARS = 20000; // the server's limit (as for a script)

function describeAsset(asset) {
  // whole seconds down, as the players count them (2.6 s reads 0:02 there, so 2 s here)
  const seconds = asset.duration_s == null ? null : Math.floor(asset.duration_s);
  const parts = [formatDuration(seconds), formatBytes(asset.size_bytes)];
  if (asset.width && asset.height) parts.push(`${asset.width}×${asset.height}`);
  if (asset.fps) parts.push(t("job.fps", { fps: formatNumber(asset.fps, asset.fps % 1 ? 2 : 0) }));
  return parts.filter(Boolean).join(" · ");
}

// Audio players load their metadata, so they show the length at once (never 0:00 / 0:00).
function preview(asset, preload) {
  const src = api.assetContentUrl(asset.id);
  if (asset.kind === "audio") {
    return el("div", { class: "audio-preview" }, el("audio", { controls: true, preload: "metadata",
      src, "aria-label": asset.original_name }));
  }
  // `#t=0.1`: with its metadata the browser then shows that frame, not a black box
  return el("video", { controls: true, muted: true, playsinline: true, preload,
    src: preload === "none" ? src : `${src}#t=0.1`, "aria-label": asset.original_name });
}

// An audio's "what it says" box: its words make the mouth shapes phoneme-true.
function transcriptBox(asset) {
  const text = el("textarea", { id: `transcript-${asset.id}`, class: "transcript", rows: 3,
    maxlength: MAX_TRANSCRIPT_CHARS, placeholder: t("assets.transcriptPlaceholder") });
  text.value = asset.transcript || "";
  const save = el("button", { type: "button", class: "small", "data-action": "save-transcript" },
    t("common.save"));
  save.addEventListener("click", async () => {
    save.disabled = true;
    try {
      const saved = await api.setTranscript(asset.id, text.value.trim() || null);
      asset.transcript = saved.transcript;
      toast(t(saved.transcript ? "assets.transcriptSaved" : "assets.transcriptCleared"));
    } catch (exc) {
      toast(errorText(exc), "bad");
    } finally {
      save.disabled = false;
    }
  });
  return el("details", { class: "transcript-box", open: Boolean(asset.transcript) },
    el("summary", {}, t("assets.transcript")),
    field(t("assets.transcriptHint"), text), save);
}

function assetCard(asset, selection, preload, onChange) {
  const box = el("input", { type: "checkbox", value: asset.id, "data-kind": asset.kind,
    id: `pick-${asset.id}` });
  box.checked = selection.has(asset.id);
  box.addEventListener("change", () => {
    if (box.checked) selection.add(asset.id);
    else selection.delete(asset.id);
    onChange();
  });
  return el("li", { class: `asset ${asset.kind}`, "data-asset": asset.id },
    el("label", { class: "pick", for: box.id }, box,
      el("span", { class: "name file-name", title: asset.original_name }, asset.original_name || asset.id)),
    preview(asset, preload),
    el("div", { class: "muted small" }, describeAsset(asset)),
    asset.kind === "audio" ? transcriptBox(asset) : null);
}

function selectionProblem(audioCount, videoCount) {
  if (!audioCount || !videoCount) return t("batch.chooseBoth");
  if (audioCount > 1 && videoCount > 1) return t("batch.oneSide");
  return null;
}

function optionSelect(name, values, labelKey) {
  return el("select", { name, id: `batch-${name}` },
    values.map((value) => el("option", { value }, t(`${labelKey}.${value}`))));
}

function stem(fileName) {
  return String(fileName || "").replace(/\.[^.]+$/, "");
}

// The batch's default name: its first script's opening words, else the first audio's name.
export function defaultBatchName(scripts, audios) {
  if (scripts.length && scripts[0].name) return scripts[0].name;
  if (scripts.length) {
    const [first] = splitSentences(scripts[0].text);
    const words = (first || scripts[0].text).replace(/[。！？!?.;；…]+$/u, "");
    return words.length > NAME_FROM_SCRIPT_CHARS ? `${words.slice(0, NAME_FROM_SCRIPT_CHARS)}…` : words;
  }
  return audios.length ? stem(audios[0].original_name) : "";
}

// A fresh upload is ticked for the batch: every video, and an audio while none is chosen.
function tickUploaded(state) {
  for (const id of [...state.justUploaded]) {
    if (state.video.some((a) => a.id === id)) state.videoSel.add(id);
    else if (state.audio.some((a) => a.id === id) && !state.audioSel.size) state.audioSel.add(id);
    else if (!state.audio.some((a) => a.id === id)) continue;
    state.justUploaded.delete(id);
  }
}

export function renderLibrary(root) {
  // givenNames: the file name each upload had (id -> name), so outputs follow what the user
  // called it this time; justUploaded: ids to tick once the library has them.
  const state = { audio: [], video: [], audioSel: new Set(), videoSel: new Set(),
    givenNames: new Map(), justUploaded: new Set() };
  const audioList = el("ul", { class: "assets", id: "audio-assets" });
  const videoList = el("ul", { class: "assets", id: "video-assets" });
  const engine = optionSelect("engine", ENGINES, "batch.engines");
  const fit = optionSelect("fit", FITS, "batch.fits");
  const fitHint = el("span", { id: "fit-hint" }, t("batch.fitHints.pingpong"));
  fit.setAttribute("aria-describedby", "fit-hint");
  fit.addEventListener("change", () => { fitHint.textContent = t(`batch.fitHints.${fit.value}`); });
  const name = el("input", { type: "text", id: "batch-name", maxlength: 255, autocomplete: "off" });
  const modelBox = el("div", { id: "model-hint" });
  const summary = el("p", { class: "summary", id: "batch-summary", "aria-live": "polite" });
  const create = el("button", { class: "primary", id: "create-batch", disabled: true }, t("batch.create"));
  const scriptsBox = el("section", { class: "card", id: "scripts-panel", "aria-labelledby": "scripts-title" },
    el("h2", { id: "scripts-title" }, t("scripts.title")));
  const uploadBox = el("section", { class: "card", id: "upload-panel", "aria-labelledby": "upload-title" },
    el("h2", { id: "upload-title" }, t("upload.title")));
  let scripts = null;

  const chosenAudios = () => state.audio.filter((a) => state.audioSel.has(a.id));
  const updateSummary = () => {
    const scriptList = scripts ? scripts.scripts() : [];
    const audios = state.audioSel.size + scriptList.length;
    const videos = state.videoSel.size;
    const problem = selectionProblem(audios, videos);
    summary.textContent = problem
      || t("batch.willMake", { audios, videos, count: audios * videos });
    summary.classList.toggle("bad", Boolean(problem) && audios + videos > 0);
    create.disabled = Boolean(problem);
    name.placeholder = defaultBatchName(scriptList, chosenAudios()) || t("batch.namePlaceholder");
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
    tickUploaded(state);
    drawList(audioList, state.audio, state.audioSel, t("assets.noAudio"));
    drawList(videoList, state.video, state.videoSel, t("assets.noVideo"));
    updateSummary();
  };

  create.addEventListener("click", async () => {
    create.disabled = true;
    const scriptList = scripts.scripts();
    try {
      const body = {
        audio_asset_ids: [...state.audioSel],
        video_asset_ids: [...state.videoSel],
        engine: engine.value,
        fit: fit.value,
        name: name.value.trim() || defaultBatchName(scripts.scripts({ labelled: false }), chosenAudios()),
        asset_names: Object.fromEntries([...state.audioSel, ...state.videoSel]
          .filter((id) => state.givenNames.has(id)).map((id) => [id, state.givenNames.get(id)])),
      };
      if (scriptList.length) body.scripts = scriptList;
      const batch = await api.createBatch(body);
      window.location.hash = `#/batches/${batch.id || batch.batch?.id}`;
    } catch (exc) {
      toast(errorText(exc), "bad");
      updateSummary();
    }
  });

  const stopUploads = mountUploadPanel(uploadBox, { onAsset: (assetId, outcome) => {
    state.givenNames.set(assetId, outcome.name);
    state.justUploaded.add(assetId);
    load().catch(() => null);
  } });
  scripts = mountScriptsPanel(scriptsBox, updateSummary);
  const side = el("aside", { class: "side" });
  root.append(
    el("h1", { class: "page-title" }, t("batch.title")),
    el("div", { class: "layout" },
      el("div", { class: "main-col" },
        el("div", { class: "pair" }, uploadBox, scriptsBox),
        el("section", { class: "card", "aria-labelledby": "library-title" },
          el("div", { class: "row" },
            el("h2", { id: "library-title" }, t("assets.title")),
            el("button", { class: "link", type: "button",
              onclick: () => load().catch((e) => toast(errorText(e), "bad")) }, t("common.refresh"))),
          el("div", { class: "columns" },
            el("div", {}, el("h3", {}, t("assets.audio")), audioList),
            el("div", {}, el("h3", {}, t("assets.videos")), videoList))),
        el("section", { class: "card", id: "batch-form", "aria-labelledby": "batch-title" },
          el("h2", { id: "batch-title" }, t("batch.create")),
          el("div", { class: "form" },
            field(t("batch.name"), name),
            field(t("batch.engine"), engine),
            field(t("batch.fit"), fit, fitHint)),
          modelBox, summary, create)),
      side));
  const stopMachine = mountMachinePanel(side);
  watchEngineModels(engine, modelBox);
  load().catch((exc) => toast(errorText(exc), "bad"));
  return () => {
    stopUploads();
    stopMachine();
  };
}
