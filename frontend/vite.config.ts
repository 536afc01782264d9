import { defineConfig } from "vitest/config";
import react from "@vitejs/plugin-react";
import { writeFileSync } from "node:fs";
import { resolve } from "node:path";

// The Go side embeds all:frontend/dist, so a fresh clone needs the tracked dist/.gitkeep:
// vite empties dist on build, this puts the placeholder back.
const keepPlaceholder = () => ({
  name: "keep-dist-gitkeep",
  closeBundle() {
    writeFileSync(resolve(process.cwd(), "dist/.gitkeep"), "");
  },
});

// Wails v2 serves frontend/dist (embedded with all:frontend/dist).
export default defineConfig({
  plugins: [react(), keepPlaceholder()],
  build: {
    outDir: "dist",
    emptyOutDir: true,
    target: "es2022",
    chunkSizeWarningLimit: 1500,
  },
  server: { port: 5173, strictPort: true },
  test: {
    environment: "jsdom",
    globals: true,
    setupFiles: ["./src/testing/setup.ts"],
    include: ["src/**/*.test.{ts,tsx}"],
    css: false,
    // CI and dev machines have 2 shared cores: leave room for a slow first import (highlight.js).
    testTimeout: 20000,
    pool: "threads",
    poolOptions: { threads: { maxThreads: 2, minThreads: 1 } },
  },
});
