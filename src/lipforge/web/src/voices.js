// The Voices page: the list of voices (engine, server, speaker, built-in or not) with
// "test this voice" and remove, and the form to add one: engine, server URL, speaker and,
// for cloning engines, a reference audio uploaded with tus plus its transcript.

import { api, errorText, fetchAudio, itemsOf } from "./api.js";
import { clear, el, field, toast } from "./dom.js";
import { language, t } from "./i18n.js";
import { mountUploadPanel } from "./upload.js";

const KNOWN_ENGINES = ["espeak", "piper", "cosyvoice", "fish-speech", "openai"];

function testLine(voice) {
  const zh = (voice.language || "").startsWith("zh") || (!voice.language && language() === "zh-CN");
  return zh ? t("voices.testLineZh") : t("voices.testLine");
}

function voiceRow(voice, reload) {
  const player = el("audio", { controls: true, hidden: true, class: "preview-player" });
  const test = el("button", { type: "button", class: "small", "data-action": "test" }, t("voices.test"));
  test.addEventListener("click", async () => {
    test.disabled = true;
    try {
      player.src = await fetchAudio(api.voicePreviewUrl(voice.name), { text: testLine(voice) });
      player.hidden = false;
      await player.play().catch(() => null);
    } catch (exc) {
      toast(errorText(exc), "bad");
    } finally {
      test.disabled = false;
    }
  });
  const remove = voice.builtin ? null : el("button", { type: "button", class: "small danger",
    "data-action": "remove", onclick: async () => {
      if (!window.confirm(t("voices.removeConfirm", { name: voice.name }))) return;
      try {
        await api.removeVoice(voice.name);
        reload();
      } catch (exc) {
        toast(errorText(exc), "bad");
      }
    } }, t("voices.remove"));
  const facts = [
    [t("voices.engine"), voice.engine],
    [t("voices.language"), voice.language],
    [t("voices.url"), voice.url],
    [t("voices.speaker"), voice.speaker],
  ].filter(([, value]) => value);
  return el("li", { class: "voice", "data-voice": voice.name },
    el("div", { class: "row" }, el("strong", { class: "file-name" }, voice.name),
      voice.builtin ? el("span", { class: "pill succeeded" }, t("voices.builtin")) : null),
    el("dl", { class: "facts small" }, facts.flatMap(([k, v]) => [el("dt", {}, k), el("dd", { class: "file-name" }, v)])),
    el("div", { class: "actions" }, test, remove), player);
}

function addForm(engines, onAdded) {
  const name = el("input", { type: "text", name: "name", required: true, pattern: "[A-Za-z0-9][A-Za-z0-9._-]{0,63}",
    autocomplete: "off" });
  const engine = el("select", { name: "engine" }, engines.map((e) => el("option", { value: e }, e)));
  const url = el("input", { type: "url", name: "url", placeholder: "http://127.0.0.1:50000" });
  const speaker = el("input", { type: "text", name: "speaker" });
  const referenceText = el("textarea", { name: "reference_text", rows: 2 });
  const referenceStatus = el("p", { class: "muted small", "aria-live": "polite" });
  const uploadBox = el("div", { class: "reference-upload" });
  let referenceAssetId = null;
  const submit = el("button", { type: "submit", class: "primary" }, t("voices.add"));
  const form = el("form", { class: "voice-form", id: "voice-form" },
    el("div", { class: "form" }, field(t("voices.name"), name), field(t("voices.engine"), engine),
      field(t("voices.url"), url), field(t("voices.speaker"), speaker)),
    el("div", { class: "field" }, el("span", { class: "label" }, t("voices.reference")), uploadBox, referenceStatus),
    field(t("voices.referenceText"), referenceText),
    submit);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const body = { name: name.value.trim(), engine: engine.value };
    if (url.value.trim()) body.url = url.value.trim();
    if (speaker.value.trim()) body.speaker = speaker.value.trim();
    if (referenceAssetId) body.reference_asset_id = referenceAssetId;
    if (referenceText.value.trim()) body.reference_text = referenceText.value.trim();
    try {
      await api.addVoice(body);
      toast(t("voices.added", { name: body.name }));
      form.reset();
      referenceAssetId = null;
      referenceStatus.textContent = "";
      onAdded();
    } catch (exc) {
      toast(errorText(exc), "bad");
    }
  });
  const stop = mountUploadPanel(uploadBox, { height: 180, onAsset: (assetId) => {
    referenceAssetId = assetId;
    referenceStatus.textContent = t("voices.referenceReady");
  } });
  return { form, stop };
}

export function renderVoices(root) {
  const list = el("ul", { class: "voices", id: "voice-list" });
  const formBox = el("section", { class: "card", "aria-labelledby": "voice-form-title" },
    el("h2", { id: "voice-form-title" }, t("voices.newTitle")));
  root.append(el("h1", { class: "page-title" }, t("voices.title")),
    el("p", { class: "hint" }, t("voices.hint")),
    el("div", { class: "layout even" }, el("section", { class: "card" }, list), formBox));
  let stopUpload = () => null;
  const load = async () => {
    const page = await api.listVoices();
    const voices = itemsOf(page, "voices");
    clear(list);
    if (!voices.length) list.append(el("li", { class: "empty muted" }, t("voices.empty")));
    for (const voice of voices) list.append(voiceRow(voice, () => load().catch(() => null)));
    return page;
  };
  load().then((page) => {
    const offered = (page?.engines || []).filter((e) => !e.missing).map((e) => e.name ?? e);
    const engines = offered.length ? offered : KNOWN_ENGINES;
    const { form, stop } = addForm(engines, () => load().catch(() => null));
    formBox.append(form);
    stopUpload = stop;
  }).catch((exc) => toast(errorText(exc), "bad"));
  return () => stopUpload();
}
