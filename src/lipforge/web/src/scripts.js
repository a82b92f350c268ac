// The Scripts panel of "New batch": several scripts, each typed, pasted or dropped as a .txt,
// with its voice, a preview of its first sentence, the sentence split and an estimated
// duration. It holds the scripts; library.js turns them into a batch ({text, voice} each).

import { errorText, fetchAudio, api } from "./api.js";
import { clear, el, field, toast } from "./dom.js";
import { formatDuration, t } from "./i18n.js";

// The same cut as lipforge.speech.sentences: sentence ends in Chinese and English, line breaks.
const SENTENCE_END = /([。！？!?；;…]+|\.(?=\s|$)|\.{3})([”’」』）)"'》]*)/g;
const HAN = /[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]/g;
const HAN_PER_S = 4.2;
const WORDS_PER_S = 2.6;
const PAUSE_S = 0.35;
const PLAN_DELAY_MS = 400; // ask the server once typing pauses

export function splitSentences(text) {
  const out = [];
  for (const line of String(text || "").replace(/\r/g, "").split("\n")) {
    let start = 0;
    for (const match of line.matchAll(SENTENCE_END)) {
      out.push(line.slice(start, match.index + match[0].length));
      start = match.index + match[0].length;
    }
    out.push(line.slice(start));
  }
  return out.map((s) => s.trim()).filter((s) => /[\p{L}\p{N}]/u.test(s));
}

// "zh" when Han characters outnumber Latin words, as lipforge.speech.sentences decides.
export function scriptLanguage(text) {
  const han = (String(text).match(HAN) || []).length;
  const words = (String(text).match(/[A-Za-z]+/g) || []).length;
  return han && han >= words ? "zh" : "en";
}

export function estimateSeconds(text) {
  const sentences = splitSentences(text);
  const han = (String(text).match(HAN) || []).length;
  const words = (String(text).replace(HAN, " ").match(/[A-Za-z0-9']+/g) || []).length;
  return han / HAN_PER_S + words / WORDS_PER_S + sentences.length * PAUSE_S;
}

function voiceSelect(voices, chosen) {
  return el("select", { class: "voice-select data" }, voices.map((v) => el("option",
    { value: v.name, selected: v.name === chosen ? true : null }, v.name)));
}

function readTextFile(file, onText) {
  if (!/\.txt$/i.test(file.name) && !String(file.type).startsWith("text/")) {
    toast(t("scripts.badFile", { name: file.name }), "bad");
    return;
  }
  const name = file.name.replace(/\.[^.]+$/, "");
  file.text().then((text) => onText(text, name)).catch((exc) => toast(exc.message, "bad"));
}

class ScriptEntry {
  constructor(panel, number, voices) {
    this.panel = panel;
    this.number = number;
    this.text = el("textarea", { rows: 4, class: "script-text", placeholder: t("scripts.placeholder") });
    this.voice = voiceSelect(voices, panel.defaultVoice());
    this.stats = el("div", { class: "muted small script-stats", "aria-live": "polite" });
    this.sentences = el("ol", { class: "sentences data" });
    this.player = el("audio", { controls: true, class: "preview-player", hidden: true });
    this.previewButton = el("button", { type: "button", class: "small" }, t("scripts.preview"));
    this.previewButton.addEventListener("click", () => this.preview());
    const remove = el("button", { type: "button", class: "link", "aria-label": t("scripts.remove") },
      t("common.remove"));
    remove.addEventListener("click", () => panel.remove(this));
    this.text.id = `script-${number}-${Date.now().toString(36)}`;
    this.node = el("li", { class: "script" },
      el("div", { class: "row" }, el("label", { for: this.text.id, class: "strong" },
        t("scripts.label", { n: number })), remove),
      this.text,
      el("div", { class: "row wrap" }, field(t("scripts.voice"), this.voice), this.previewButton),
      this.player, this.stats,
      el("details", {}, el("summary", {}, t("scripts.split")), this.sentences));
    this.voices = voices;
    this.voiceChosen = false;
    this.text.addEventListener("input", () => this.update());
    this.voice.addEventListener("change", () => {
      this.voiceChosen = true;
      panel.changed();
      this.askPlan();
    });
    this.node.addEventListener("dragover", (event) => event.preventDefault());
    this.node.addEventListener("drop", (event) => {
      const [file] = event.dataTransfer?.files || [];
      if (!file) return;
      event.preventDefault();
      event.stopPropagation();
      readTextFile(file, (text, name) => this.setText(text, name));
    });
    this.update();
  }

  setText(text, name = "") {
    this.text.value = text;
    this.name = name;
    this.update();
  }

  update() {
    const sentences = splitSentences(this.text.value);
    clear(this.sentences).append(...sentences.map((s) => el("li", {}, s)));
    if (!this.voiceChosen) this.matchVoice();
    this.showStats(sentences, estimateSeconds(this.text.value), false);
    this.previewButton.disabled = !sentences.length || !this.voice.value;
    this.panel.changed();
    this.askPlan();
  }

  showStats(pieces, seconds, fromServer) {
    this.stats.dataset.source = fromServer ? "server" : "local";
    this.stats.textContent = pieces.length
      ? `${t("scripts.sentences", { count: pieces.length })} · ${t("scripts.estimate",
        { duration: formatDuration(seconds) })}` : "";
  }

  // The server's own split (long sentences cut at commas) and estimate replace the quick
  // local guess, so the box says what the batch will then show.
  askPlan() {
    clearTimeout(this.planTimer);
    const text = this.text.value.trim();
    const voice = this.voice.value;
    if (!text || !voice) return;
    this.planTimer = setTimeout(async () => {
      try {
        const plan = await api.planScript(text, voice);
        if (this.text.value.trim() !== text || this.voice.value !== voice) return;
        clear(this.sentences).append(...plan.pieces.map((s) => el("li", {}, s)));
        this.showStats(plan.pieces, plan.estimated_s, true);
      } catch {
        // the local guess stays; the batch itself will say what is wrong
      }
    }, PLAN_DELAY_MS);
  }

  // Until the user picks a voice, follow the script's language (a Chinese voice for Chinese).
  matchVoice() {
    const language = scriptLanguage(this.text.value);
    const current = this.voices.find((v) => v.name === this.voice.value);
    if (!this.text.value.trim() || (current?.language || "").startsWith(language)) return;
    const match = this.voices.find((v) => v.builtin && (v.language || "").startsWith(language))
      || this.voices.find((v) => (v.language || "").startsWith(language));
    if (match) this.voice.value = match.name;
  }

  // A typed script is named as its box is labelled, in the reader's language ("文稿1"), so
  // the videos are "王老师-文稿1.mp4", not "-script1"; a dropped file keeps its own name.
  // With {labelled: false} only a file's name is given (the batch is then named after the
  // script's opening words, not after its label).
  value({ labelled = true } = {}) {
    const script = { text: this.text.value.trim(), voice: this.voice.value };
    const name = this.name || (labelled ? t("scripts.fileName", { n: this.number }) : "");
    return name ? { ...script, name } : script;
  }

  async preview() {
    const [first] = splitSentences(this.text.value);
    if (!first) return;
    this.previewButton.disabled = true;
    this.previewButton.textContent = t("scripts.previewing");
    try {
      this.player.src = await fetchAudio(api.voicePreviewUrl(this.voice.value), { text: first });
      this.player.hidden = false;
      await this.player.play().catch(() => null);
    } catch (exc) {
      toast(errorText(exc), "bad");
    } finally {
      this.previewButton.disabled = false;
      this.previewButton.textContent = t("scripts.preview");
    }
  }
}

// Mounts the panel; `onChange()` runs whenever the scripts change. Returns {scripts()}.
export function mountScriptsPanel(container, onChange) {
  const list = el("ol", { class: "scripts", id: "script-list" });
  const add = el("button", { type: "button", id: "add-script" }, t("scripts.add"));
  const notice = el("p", { class: "muted small" });
  const entries = [];
  let voices = [];
  const panel = {
    defaultVoice: () => {
      const zh = document.documentElement.lang === "zh-CN";
      const preferred = voices.find((v) => v.name === (zh ? "espeak-zh" : "espeak-en"));
      return (preferred || voices[0])?.name;
    },
    changed: () => onChange(),
    remove: (entry) => {
      entries.splice(entries.indexOf(entry), 1);
      entry.node.remove();
      onChange();
    },
  };
  const addEntry = (text = "", name = "") => {
    const entry = new ScriptEntry(panel, entries.length + 1, voices);
    entries.push(entry);
    list.append(entry.node);
    if (text) entry.setText(text, name);
    return entry;
  };
  add.addEventListener("click", () => addEntry().text.focus());
  container.append(el("p", { class: "hint" }, t("scripts.hint")), notice, list, add);
  container.addEventListener("dragover", (event) => event.preventDefault());
  container.addEventListener("drop", (event) => {
    const files = [...(event.dataTransfer?.files || [])];
    if (!files.length) return;
    event.preventDefault();
    for (const file of files) readTextFile(file, (text, name) => addEntry(text, name));
  });
  api.listVoices().then((page) => {
    voices = Array.isArray(page) ? page : page.items || page.voices || [];
    notice.textContent = voices.length ? "" : t("scripts.noVoices");
    addEntry();
  }).catch(() => {
    notice.textContent = t("scripts.noVoices");
  });
  return {
    scripts: (options) => entries.map((e) => e.value(options)).filter((s) => s.text && s.voice),
    addScript: addEntry,
  };
}
