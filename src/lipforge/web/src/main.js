// Entry point of the UI: a hash router over the pages (#/ new batch, #/batches, #/batches/ID).

import "./style.css";
import { renderBatchList, renderBatchView } from "./batches.js";
import { clear } from "./dom.js";
import { renderLibrary } from "./library.js";

const root = document.getElementById("app");
let leavePage = null;

function route() {
  const hash = window.location.hash.replace(/^#/, "") || "/";
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
  } else {
    leavePage = renderLibrary(root);
  }
  for (const link of document.querySelectorAll("[data-nav]")) {
    link.classList.toggle("active", link.dataset.nav === page);
  }
}

document.getElementById("logout")?.addEventListener("click", async (event) => {
  event.preventDefault();
  await fetch("/api/logout", { method: "POST", credentials: "same-origin" }).catch(() => null);
  window.location.assign("/login");
});

window.addEventListener("hashchange", route);
route();
