// The Results page: the finished videos of the latest batches as a gallery, grouped by
// batch, each playing in the page with its subtitles, with MP4/SRT downloads and the
// batch's zip. It reads batches; it changes nothing.

import { api, errorText, itemsOf } from "./api.js";
import { clear, el, toast } from "./dom.js";
import { t } from "./i18n.js";
import { batchName, resultCard } from "./batches.js";

const BATCHES_SHOWN = 20;

export function renderResults(root) {
  const box = el("div", { id: "results-page" }, el("p", { class: "muted" }, t("common.loading")));
  root.append(el("h1", { class: "page-title" }, t("results.title")),
    el("p", { class: "hint" }, t("results.hint")), box);
  let stopped = false;
  const load = async () => {
    const summaries = itemsOf(await api.listBatches(BATCHES_SHOWN), "batches")
      .filter((b) => (b.counts?.succeeded || 0) > 0);
    const batches = await Promise.all(summaries.map((b) => api.getBatch(b.id)));
    if (stopped) return;
    clear(box);
    if (!batches.length) box.append(el("p", { class: "empty muted" }, t("results.empty")));
    for (const batch of batches) {
      const done = (batch.jobs || []).filter((j) => j.status === "succeeded");
      box.append(el("section", { class: "card", "data-batch": batch.id },
        el("div", { class: "row wrap" },
          el("h2", {}, el("a", { href: `#/batches/${batch.id}`,
            class: batch.name ? "batch-link data" : "batch-link" }, batchName(batch))),
          el("a", { class: "button small", href: api.batchArchiveUrl(batch.id), download: "" },
            t("batches.downloadAll"))),
        el("ul", { class: "gallery" }, done.map(resultCard))));
    }
  };
  load().catch((exc) => toast(errorText(exc), "bad"));
  return () => {
    stopped = true;
  };
}
