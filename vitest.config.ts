import * as path from "node:path"
import { defineConfig } from "vitest/config"

export default defineConfig({
  resolve: {
    // Examples and tests import the package by name, as users do.
    alias: [
      {
        find: "effect-sagemaker/SagemakerEmulator",
        replacement: path.join(import.meta.dirname, "src", "emulator", "SagemakerEmulator.ts")
      },
      { find: /^effect-sagemaker\/(\w+)$/, replacement: path.join(import.meta.dirname, "src", "$1.ts") },
      { find: /^effect-sagemaker$/, replacement: path.join(import.meta.dirname, "src", "index.ts") }
    ]
  },
  test: {
    include: ["test/**/*.test.ts"],
    setupFiles: ["./test/setup.ts"],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Two cores in CI: run files in parallel but keep the pool small.
    pool: "forks",
    poolOptions: { forks: { maxForks: 2, minForks: 1 } }
  }
})
