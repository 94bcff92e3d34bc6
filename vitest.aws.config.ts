import { defineConfig } from "vitest/config"

// The real-AWS smoke suite only (`pnpm test:aws`, through packages/bedrock-embed/test-aws/run.ts,
// which skips without credentials). Its files end in `.aws.ts`, outside the default `pnpm test` glob.
export default defineConfig({
  test: {
    include: ["packages/**/test-aws/**/*.aws.ts"],
    exclude: ["**/node_modules/**", "**/dist/**"],
    setupFiles: ["./vitest.setup.ts"],
    reporters: ["verbose"],
    // One file, calls one after another: a failure names the model, and nothing runs in parallel.
    fileParallelism: false,
    testTimeout: 120_000,
    hookTimeout: 120_000
  }
})
