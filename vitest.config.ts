import { defineConfig } from "vitest/config"

/**
 * Test files whose checks hold a clock to the code (deadlines, pacing, quotas per second,
 * signals, disconnects, a fault stand-in's timings, a browser's waits): they run after the
 * others, one at a time, with the machine to themselves. Every other file runs two at a time:
 * much of their time is spent waiting (on an emulator's job delays, a child process, a poll),
 * which two files overlap.
 *
 * Files stay isolated (`isolate: true`, the default): module state is per process by design,
 * e.g. the Marengo 2.7 end-of-life notice is logged once per process (deprecation.test.ts).
 */
const timed = [
  "packages/bedrock-embed/test/engine-faults.test.ts",
  "packages/bedrock-embed/test/litellm-surface.test.ts",
  "packages/bedrock-embed/test/stream-faults.test.ts",
  "packages/bedrock-embed/test/throttle-pacing.test.ts",
  "packages/core/test/Jobs.test.ts",
  "packages/core/test/Limiter.test.ts",
  "packages/proxy/test/chaos.test.ts",
  "packages/proxy/test/dashboard.test.ts",
  "packages/proxy/test/disconnect.test.ts",
  "packages/proxy/test/hostile.test.ts",
  "packages/proxy/test/rate-limits.test.ts",
  "packages/proxy/test/router.test.ts",
  "packages/proxy/test/signals.test.ts",
  "packages/proxy/test/team-postgres.test.ts"
]

// One config for the whole workspace: every package's `test/` folder, in two groups run one after
// the other (`sequence.groupOrder`). A project's `include` and `exclude` are its own: extended
// ones would be concatenated with the root's.
export default defineConfig({
  test: {
    setupFiles: ["./vitest.setup.ts"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    projects: [
      {
        extends: true,
        test: {
          name: "parallel",
          include: ["packages/**/test/**/*.test.ts"],
          exclude: ["**/node_modules/**", "**/dist/**", ...timed],
          maxWorkers: 2,
          sequence: { groupOrder: 0 }
        }
      },
      {
        extends: true,
        test: {
          name: "timed",
          include: timed,
          fileParallelism: false,
          sequence: { groupOrder: 1 }
        }
      }
    ]
  }
})
