// The UI's two languages (zh-CN, en): which one is in force, t(key, params) over the
// catalogues in locales/, plural forms, and numbers, sizes (binary units, like the CLI),
// durations and dates written the reader's way. Server errors are translated from their
// stable code and params (translateError); an unknown code falls back to the server's message.
// No DOM here except <html lang>, set by applyLanguage().

import en from "./locales/en.json" with { type: "json" };
import zhCN from "./locales/zh-CN.json" with { type: "json" };

export const LANGUAGES = ["zh-CN", "en"];
export const LANGUAGE_NAMES = { "zh-CN": "中文", en: "English" };
export const STORAGE_KEY = "lipforge.lang";
export const LANGUAGE_COOKIE = "lipforge_lang"; // read by the server's login page
const CATALOGUES = { en, "zh-CN": zhCN };
const BYTE_UNITS = ["B", "KiB", "MiB", "GiB", "TiB"];

let current = "en";

export function language() {
  return current;
}

export function setLanguage(lang) {
  current = CATALOGUES[lang] ? lang : "en";
}

// A language tag from a list (browser or header order) mapped to one we have, or null.
export function matchLanguage(tags) {
  for (const raw of tags || []) {
    const tag = String(raw || "").trim().toLowerCase();
    if (!tag) continue;
    if (tag.startsWith("zh")) return "zh-CN";
    if (tag.startsWith("en")) return "en";
  }
  return null;
}

// ?lang= forces; else the switch's remembered choice; else the browser's languages
// (what it sends as Accept-Language); else English.
export function chooseLanguage({ search = "", stored = null, browser = [] } = {}) {
  const forced = new URLSearchParams(search).get("lang");
  return matchLanguage([forced]) || matchLanguage([stored]) || matchLanguage(browser) || "en";
}

export function applyLanguage(win = globalThis.window) {
  let stored = null;
  try {
    stored = win.localStorage.getItem(STORAGE_KEY);
  } catch {
    stored = null;
  }
  setLanguage(chooseLanguage({ search: win.location.search, stored,
    browser: win.navigator.languages || [win.navigator.language] }));
  win.document.documentElement.lang = current;
  return current;
}

export function rememberLanguage(lang, win = globalThis.window) {
  win.localStorage.setItem(STORAGE_KEY, lang);
  win.document.cookie = `${LANGUAGE_COOKIE}=${lang}; path=/; max-age=31536000; SameSite=Strict`;
}

function lookup(catalogue, key) {
  return key.split(".").reduce((node, part) => (node == null ? undefined : node[part]), catalogue);
}

function fill(template, params) {
  return template.replace(/\{(\w+)\}/g, (whole, name) =>
    (params[name] === undefined || params[name] === null ? whole : String(params[name])));
}

function placeholders(template) {
  return [...template.matchAll(/\{(\w+)\}/g)].map((m) => m[1]);
}

// A catalogue entry: a string; a list of variants (the first whose placeholders all have
// params wins); {one, other} plural forms chosen by params.count; or an object keyed by
// params.reason (the server's sub-case of an error code), with "default" for the rest.
function resolve(entry, params) {
  if (typeof entry === "string") return entry;
  if (Array.isArray(entry)) {
    return entry.find((v) => placeholders(v).every((p) => params[p] !== undefined
      && params[p] !== null)) ?? entry.at(-1);
  }
  if (entry && typeof entry === "object") {
    if ("other" in entry) {
      const rule = new Intl.PluralRules(current).select(Number(params.count) || 0);
      return entry[rule] ?? entry.other;
    }
    return resolve(entry[params.reason] ?? entry.default, params);
  }
  return undefined;
}

export function has(key) {
  return lookup(CATALOGUES[current], key) !== undefined;
}

export function t(key, params = {}) {
  const entry = lookup(CATALOGUES[current], key) ?? lookup(CATALOGUES.en, key);
  const template = resolve(entry, params);
  return template === undefined ? key : fill(template, params);
}

export function formatNumber(value, digits = 0) {
  return new Intl.NumberFormat(current, { minimumFractionDigits: digits,
    maximumFractionDigits: digits }).format(Number(value) || 0);
}

export function formatBytes(bytes) {
  let value = Math.max(0, Number(bytes) || 0);
  let unit = 0;
  while (value >= 1024 && unit < BYTE_UNITS.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${formatNumber(value, unit === 0 ? 0 : 1)} ${BYTE_UNITS[unit]}`;
}

export function formatDuration(seconds) {
  if (seconds === null || seconds === undefined || !Number.isFinite(Number(seconds))) return "";
  const s = Math.max(0, Math.round(Number(seconds)));
  const pad = (n) => String(n).padStart(2, "0");
  if (s < 60) return t("time.s", { s });
  const m = Math.floor(s / 60);
  if (m < 60) return t("time.ms", { m, s: s % 60, ss: pad(s % 60) });
  return t("time.hm", { h: Math.floor(m / 60), m: m % 60, mm: pad(m % 60) });
}

export function formatDate(value) {
  if (!value) return "";
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) return String(value);
  return new Intl.DateTimeFormat(current, { dateStyle: "medium", timeStyle: "short" }).format(date);
}

export function formatPercent(fraction) {
  return `${Math.floor(Math.min(1, Math.max(0, Number(fraction) || 0)) * 100)} %`;
}

// A speech engine's name in the reader's language ("openai" -> "OpenAI 兼容接口"); an engine
// the catalogues do not know keeps its registered name.
export function engineName(engine) {
  return has(`voices.engineNames.${engine}`) ? t(`voices.engineNames.${engine}`) : String(engine ?? "");
}

// A server refusal or failure in the reader's language: {code, params, message}.
export function translateError({ code, params, message } = {}) {
  const key = `errors.${code}`;
  if (code && lookup(CATALOGUES[current], key) !== undefined) {
    const named = { ...(params || {}) };
    if (named.what && has(`things.${named.what}`)) named.what = t(`things.${named.what}`);
    if (named.status && has(`job.states.${named.status}`)) named.status = t(`job.states.${named.status}`);
    if (named.needs && has(`voices.fields.${named.needs}`)) named.needs = t(`voices.fields.${named.needs}`);
    // a speech server is named by its engine in the reader's language, not the server's label
    if (named.engine && has(`voices.engineNames.${named.engine}`)) named.server = engineName(named.engine);
    // a connection's failure as a word the catalogues translate, not the system's English
    if (named.cause && has(`causes.${named.cause}`)) named.reason = t(`causes.${named.cause}`);
    const text = t(key, named);
    if (!/\{\w+\}/.test(text)) return text;
  }
  return message || t("errors.unknown");
}
