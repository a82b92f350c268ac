// Entry point of the UI: the language (switch, ?lang=, browser), the top bar, and a hash
// router over the pages (#/ new batch, #/voices, #/batches, #/batches/ID, #/results).

import "./style.css";
import { api } from "./api.js";
import { renderBatchList, renderBatchView } from "./batches.js";
import { clear, el } from "./dom.js";
import { LANGUAGE_NAMES, LANGUAGES, applyLanguage, language, rememberLanguage, t } from "./i18n.js";
import { renderLibrary } from "./library.js";
import { renderResults } from "./results.js";
import { renderVoices } from "./voices.js";

applyLanguage(window);
document.title = t("app.title");
const root = document.getElementById("app");
let leavePage = null;

const NAV = [
  ["library", "#/", "nav.new"],
  ["voices", "#/voices", "nav.voices"],
  ["batches", "#/batches", "nav.batches"],
  ["results", "#/results", "nav.results"],
];

function languageSwitch() {
  const select = el("select", { id: "language", "aria-label": t("app.language") },
    LANGUAGES.map((lang) => el("option", { value: lang, lang, selected: lang === language() ? true : null },
      LANGUAGE_NAMES[lang])));
  select.addEventListener("change", () => {
    rememberLanguage(select.value, window);
    const url = new URL(window.location.href);
    url.searchParams.delete("lang");
    window.location.replace(url.toString());
  });
  return el("label", { class: "lang" }, el("span", { class: "sr-only" }, t("app.language")), select);
}

function topBar() {
  const bar = document.getElementById("topbar");
  const logout = el("button", { type: "button", class: "logout", id: "logout", hidden: true }, t("app.logout"));
  logout.addEventListener("click", async () => {
    await fetch("/api/logout", { method: "POST", credentials: "same-origin" }).catch(() => null);
    window.location.assign("/login");
  });
  clear(bar).append(
    el("a", { class: "skip", href: "#app" }, t("app.skip")),
    el("a", { class: "brand", href: "#/" }, "LipForge"),
    el("nav", { "aria-label": t("nav.main") }, NAV.map(([page, href, key]) =>
      el("a", { href, "data-nav": page }, t(key)))),
    el("div", { class: "tools" }, languageSwitch(), logout));
  // "Log out" only where there is a login: not on the open loopback server.
  api.session().then((s) => { logout.hidden = !s?.auth_required; }).catch(() => null);
}

function route() {
  const hash = window.location.hash.replace(/^#/, "") || "/";
  if (hash === "app") return;
  if (leavePage) leavePage();
  clear(root);
  const batchMatch = hash.match(/^\/batches\/([^/]+)$/);
  let page = "library";
  if (batchMatch) {
    page = "batches";
    leavePage = renderBatchView(root, decodeURIComponent(batchMatch[1]));
  } else if (hash.startsWith("/batches")) {
    page = "batches";
    leavePage = renderBatchList(root);
  } else if (hash.startsWith("/voices")) {
    page = "voices";
    leavePage = renderVoices(root);
  } else if (hash.startsWith("/results")) {
    page = "results";
    leavePage = renderResults(root);
  } else {
    leavePage = renderLibrary(root);
  }
  for (const link of document.querySelectorAll("[data-nav]")) {
    link.classList.toggle("active", link.dataset.nav === page);
    if (link.dataset.nav === page) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
}

topBar();
window.addEventListener("hashchange", route);
route();
