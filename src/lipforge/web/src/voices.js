// The Voices page: the list of voices (engine, server, speaker, built-in or not) with
// "test this voice" and remove, and the form to add one: the fields the chosen engine takes
// (GET /api/voices names them per engine; required ones marked), for cloning engines a
// reference audio uploaded with tus plus its transcript, and a refusal shown in the form
// in the reader's language with the server's own words beneath.

import { api, errorText, fetchAudio, itemsOf } from "./api.js";
import { clear, el, field, toast } from "./dom.js";
import { engineName, has, language, t } from "./i18n.js";
import { mountUploadPanel } from "./upload.js";

const KNOWN_ENGINES = ["espeak", "piper", "cosyvoice", "fish-speech", "openai"];

function testLine(voice) {
  const zh = (voice.language || "").startsWith("zh") || (!voice.language && language() === "zh-CN");
  return zh ? t("voices.testLineZh") : t("voices.testLine");
}

function voiceRow(voice, reload) {
  const player = el("audio", { controls: true, hidden: true, class: "preview-player" });
  const test = el("button", { type: "button", class: "small", "data-action": "test" }, t("voices.test"));
  const failure = el("div", { class: "form-error small", role: "alert", hidden: true });
  test.addEventListener("click", async () => {
    test.disabled = true;
    failure.hidden = true;
    try {
      player.src = await fetchAudio(api.voicePreviewUrl(voice.name), { text: testLine(voice) });
      player.hidden = false;
      await player.play().catch(() => null);
    } catch (exc) {
      showFailure(failure, exc, {}); // stays until the next try: a toast would be gone in seconds
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
    [t("voices.engine"), engineName(voice.engine)],
    [t("voices.language"), has(`voices.languages.${voice.language}`)
      ? t(`voices.languages.${voice.language}`) : voice.language],
    [t("voices.url"), voice.url],
    [t("voices.speaker"), voice.speaker],
  ].filter(([, value]) => value);
  return el("li", { class: "voice", "data-voice": voice.name },
    el("div", { class: "row" }, el("strong", { class: "file-name" }, voice.name),
      voice.builtin ? el("span", { class: "pill succeeded" }, t("voices.builtin")) : null),
    el("dl", { class: "facts small" }, facts.flatMap(([k, v]) => [el("dt", {}, k), el("dd", { class: "file-name" }, v)])),
    el("div", { class: "actions" }, test, remove), failure, player);
}

// The voice fields the form can show; each engine says which it takes (GET /api/voices).
const COSYVOICE_MODES = ["", "sft", "zero_shot", "cross_lingual", "instruct2"];
const ALL_FIELDS = ["url", "sample_rate", "options.mode", "speaker", "model", "language",
  "speed", "api_key_env", "options.instruct", "options.response_format", "reference_asset_id",
  "reference_text"];

// Catalogue keys cannot hold dots (they are paths): "options.mode" is "options_mode" there.
function catalogueKey(field) {
  return field.replace(".", "_");
}

function hintFor(field) {
  const key = `voices.fieldHints.${catalogueKey(field)}`;
  return has(key) ? t(key) : null;
}

function fieldControl(name) {
  const id = `voice-${name.replace(".", "-")}`;
  if (name === "options.mode") {
    return el("select", { name, id }, COSYVOICE_MODES.map((mode) =>
      el("option", { value: mode }, t(`voices.modes.${mode || "auto"}`))));
  }
  if (name === "language") {
    return el("select", { name, id }, ["", "zh", "en"].map((lang) =>
      el("option", { value: lang }, lang ? t(`voices.languages.${lang}`) : t("voices.languages.auto"))));
  }
  if (name === "sample_rate") {
    return el("input", { type: "number", name, id, min: 8000, max: 48000, step: 1, inputmode: "numeric" });
  }
  if (name === "speed") return el("input", { type: "number", name, id, min: 0.5, max: 2, step: 0.05, value: 1 });
  if (name === "reference_text") return el("textarea", { name, id, rows: 2 });
  const type = name === "url" ? "url" : "text";
  return el("input", { type, name, id, autocomplete: "off",
    placeholder: name === "url" ? "http://127.0.0.1:50000" : null });
}

// The request body from the shown fields: empty ones left out, options nested.
function voiceBody(name, engine, controls, shown, referenceAssetId) {
  const body = { name: name.value.trim(), engine: engine.value };
  const options = {};
  for (const key of shown) {
    if (key === "reference_asset_id") {
      if (referenceAssetId) body.reference_asset_id = referenceAssetId;
      continue;
    }
    const raw = controls[key].value.trim();
    if (!raw) continue;
    const value = ["sample_rate", "speed"].includes(key) ? Number(raw) : raw;
    if (key.startsWith("options.")) options[key.slice("options.".length)] = value;
    else body[key] = value;
  }
  if (Object.keys(options).length) body.options = options;
  return body;
}

// The server's reason in the reader's language, and its own words beneath (it names values).
function showFailure(box, exc, controls) {
  clear(box);
  box.hidden = false;
  box.append(el("strong", {}, errorText(exc)));
  const detail = exc?.message && exc.message !== errorText(exc) ? exc.message : null;
  // the server's own (English) sentence, folded: the line above already says it in the
  // reader's language, with the same address and cause
  if (detail) {
    box.append(el("details", { class: "small server-says" }, el("summary", {}, t("voices.serverSays")),
      el("div", { class: "data", translate: "no" }, detail)));
  }
  const needs = exc?.params?.needs;
  const control = needs === "name" ? controls.name : controls[needs];
  if (control) {
    control.setAttribute("aria-invalid", "true");
    control.focus();
  }
}

function addForm(engines, onAdded) {
  const byName = Object.fromEntries(engines.map((e) => [e.name, e]));
  const name = el("input", { type: "text", name: "name", required: true, maxlength: 64,
    autocomplete: "off", id: "voice-name" });
  const engine = el("select", { name: "engine", id: "voice-engine" },
    engines.map((e) => el("option", { value: e.name }, engineName(e.name))));
  const controls = Object.fromEntries(ALL_FIELDS.filter((key) => key !== "reference_asset_id")
    .map((key) => [key, fieldControl(key)]));
  controls.name = name;
  const referenceStatus = el("p", { class: "muted small", "aria-live": "polite" });
  const uploadBox = el("div", { class: "reference-upload" });
  const failure = el("div", { class: "form-error", role: "alert", id: "voice-error", hidden: true });
  let referenceAssetId = null;
  const wrappers = {};
  for (const key of ALL_FIELDS) {
    const label = t(`voices.fields.${catalogueKey(key)}`);
    wrappers[key] = key === "reference_asset_id"
      ? el("div", { class: "field", "data-field": key }, el("span", { class: "label" }, label),
        uploadBox, referenceStatus)
      : field(label, controls[key], hintFor(key));
    wrappers[key].dataset.field = key;
  }
  const shownFields = () => byName[engine.value]?.fields || ALL_FIELDS;
  const showFields = () => {
    const shown = new Set(shownFields());
    const required = new Set(byName[engine.value]?.required || []);
    for (const [key, wrapper] of Object.entries(wrappers)) {
      wrapper.hidden = !shown.has(key);
      if (controls[key]) controls[key].required = required.has(key);
      wrapper.classList.toggle("required", required.has(key));
    }
  };
  engine.addEventListener("change", showFields);
  const submit = el("button", { type: "submit", class: "primary" }, t("voices.add"));
  const form = el("form", { class: "voice-form", id: "voice-form" },
    el("div", { class: "form" },
      field(t("voices.name"), name, t("voices.nameHint")), field(t("voices.engine"), engine),
      ALL_FIELDS.filter((key) => !key.startsWith("reference")).map((key) => wrappers[key])),
    wrappers.reference_asset_id, wrappers.reference_text, failure, submit);
  showFields();
  form.addEventListener("input", (event) => event.target.removeAttribute?.("aria-invalid"));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    failure.hidden = true;
    const body = voiceBody(name, engine, controls, shownFields(), referenceAssetId);
    try {
      await api.addVoice(body);
      toast(t("voices.added", { name: body.name }));
      form.reset();
      showFields();
      referenceAssetId = null;
      referenceStatus.textContent = "";
      onAdded();
    } catch (exc) {
      showFailure(failure, exc, controls);
    }
  });
  const stop = mountUploadPanel(uploadBox, { height: 180, scope: "voice-reference", onAsset: (assetId) => {
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
    const offered = (page?.engines || []).filter((e) => !e.missing)
      .map((e) => (typeof e === "string" ? { name: e } : e));
    const engines = offered.length ? offered : KNOWN_ENGINES.map((name) => ({ name }));
    const { form, stop } = addForm(engines, () => load().catch(() => null));
    formBox.append(form);
    stopUpload = stop;
  }).catch((exc) => toast(errorText(exc), "bad"));
  return () => stopUpload();
}
