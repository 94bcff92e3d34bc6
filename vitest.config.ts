import { defineConfig } from "vitest/config"

// One config for the whole workspace: every package's `test/` folder.
export default defineConfig({
  test: {
    include: ["packages/**/test/**/*.test.ts"],
    exclude: ["**/node_modules/**", "**/dist/**"],
    setupFiles: ["./vitest.setup.ts"],
    testTimeout: 60_000,
    hookTimeout: 60_000
  }
})
