// Builds the LipForge browser UI into dist/ (served by lipforge.api.routes_web at "/").
import { defineConfig } from "vite";

export default defineConfig({
  base: "/",
  build: {
    outDir: "dist",
    assetsDir: "ui",
    emptyOutDir: true,
    chunkSizeWarningLimit: 600,
  },
  server: {
    proxy: { "/api": "http://127.0.0.1:7860", "/login": "http://127.0.0.1:7860" },
  },
});
