// Builds the LipForge browser UI into dist/ with esbuild: dist/index.html plus hashed
// dist/ui/main-<hash>.js and .css (served by lipforge.api.routes_web at "/" and "/ui/").
// `node build.mjs --watch` rebuilds on every change (run `lipforge serve` beside it).
// Each built text file also gets a Brotli (.br) and a gzip (.gz) copy, made once here, so
// the server answers `Accept-Encoding` without compressing on every request.

import { readFile, readdir, rm, mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { brotliCompressSync, constants as zlibConstants, gzipSync } from "node:zlib";
import * as esbuild from "esbuild";

const HERE = path.dirname(fileURLToPath(import.meta.url));
const DIST = path.join(HERE, "dist");
const ASSET_DIR = "ui";
const DEV_ENTRY = '<script type="module" src="/src/main.js"></script>';
const COMPRESSIBLE = /\.(js|css|html|svg|json|map)$/;
const MIN_COMPRESS_BYTES = 1024; // smaller files gain nothing worth a second request shape

// dist/**/<file>.br and .gz beside every compressible file, kept only when smaller.
async function precompress(dir) {
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const file = path.join(dir, entry.name);
    if (entry.isDirectory()) await precompress(file);
    if (!entry.isFile() || !COMPRESSIBLE.test(entry.name)) continue;
    const data = await readFile(file);
    if (data.length < MIN_COMPRESS_BYTES) continue;
    const brotli = brotliCompressSync(data, { params: {
      [zlibConstants.BROTLI_PARAM_QUALITY]: zlibConstants.BROTLI_MAX_QUALITY,
      [zlibConstants.BROTLI_PARAM_SIZE_HINT]: data.length } });
    const gzip = gzipSync(data, { level: 9 });
    if (brotli.length < data.length) await writeFile(`${file}.br`, brotli);
    if (gzip.length < data.length) await writeFile(`${file}.gz`, gzip);
  }
}

function urlOf(file) {
  return `/${path.relative(DIST, path.join(HERE, file)).split(path.sep).join("/")}`;
}

// The page with the dev entry replaced by the built script, and the stylesheet in <head>.
function builtPage(template, metafile) {
  const [file, output] = Object.entries(metafile.outputs)
    .find(([name, out]) => out.entryPoint && name.endsWith(".js"));
  const script = `<script type="module" src="${urlOf(file)}"></script>`;
  const style = output.cssBundle ? `<link rel="stylesheet" href="${urlOf(output.cssBundle)}" />\n  ` : "";
  return template.replace(DEV_ENTRY, script).replace("</head>", `  ${style}</head>`);
}

const writeIndex = {
  name: "write-index",
  setup(build) {
    build.onEnd(async (result) => {
      if (result.errors.length) return;
      const template = await readFile(path.join(HERE, "index.html"), "utf8");
      if (!template.includes(DEV_ENTRY)) throw new Error(`index.html lacks ${DEV_ENTRY}`);
      await writeFile(path.join(DIST, "index.html"), builtPage(template, result.metafile));
      await precompress(DIST);
      console.log(`built ${path.relative(process.cwd(), DIST)}/index.html`);
    });
  },
};

const options = {
  absWorkingDir: HERE,
  entryPoints: ["src/main.js"],
  bundle: true,
  minify: true,
  format: "esm",
  target: ["es2022"],
  outdir: path.join(DIST, ASSET_DIR),
  entryNames: "[name]-[hash]",
  assetNames: "[name]-[hash]",
  metafile: true,
  legalComments: "none",
  define: { "process.env.NODE_ENV": '"production"' },
  // Uppy's own size labels in binary units, like every other size on the page.
  alias: { "@transloadit/prettier-bytes": "./src/binarybytes.js" },
  logLevel: "warning",
  plugins: [writeIndex],
};

await rm(DIST, { recursive: true, force: true });
await mkdir(path.join(DIST, ASSET_DIR), { recursive: true });
if (process.argv.includes("--watch")) {
  const context = await esbuild.context(options);
  await context.watch();
  console.log("watching src/ for changes");
} else {
  await esbuild.build(options);
}
