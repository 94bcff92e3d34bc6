/**
 * `bedrock-embed` on a Node.js older than 22 prints one line that says which Node it needs and
 * exits 1 — not a stack from deep inside a dependency, and not a gateway that half starts. The
 * check is a function of `process.version` (tested here on version strings) that the entry module
 * runs before it loads anything else; the built `dist/bin.js` (what the package's `bin` runs once
 * installed) is then run on a real old Node, when the machine has one, and on this test's Node.
 */
import { execFileSync, spawnSync } from "node:child_process"
import { existsSync } from "node:fs"
import * as Path from "node:path"
import { fileURLToPath } from "node:url"
import { assert, describe, it } from "@effect/vitest"
import { MINIMUM_NODE_MAJOR, nodeTooOld } from "../src/internal/nodeVersion.ts"

const bin = fileURLToPath(new URL("../dist/bin.js", import.meta.url))
const line = (version: string) =>
  `bedrock-embed needs Node.js 22 or newer (this is ${version}); install Node 22+ and run it again`

/** The first `node` on the PATH (or in the usual system places) older than 22, with its version. */
const findOldNode = (): { readonly path: string; readonly version: string } | undefined => {
  const dirs = [...(process.env.PATH ?? "").split(Path.delimiter), "/usr/bin", "/bin", "/usr/local/bin"]
  for (const dir of dirs.filter((d) => d !== "")) {
    const path = Path.join(dir, "node")
    if (!existsSync(path)) continue
    try {
      const version = execFileSync(path, ["--version"], { encoding: "utf8", timeout: 10_000 }).trim()
      if (Number(/^v(\d+)\./.exec(version)?.[1]) < MINIMUM_NODE_MAJOR) return { path, version }
    } catch {
      // not a runnable node: try the next one
    }
  }
  return undefined
}

/** Runs the built bin with `node`, without the test runner's NODE_OPTIONS. */
const run = (node: string, args: ReadonlyArray<string>) => {
  assert.isTrue(existsSync(bin), `${bin} is missing: build first (pnpm run build)`)
  const { NODE_OPTIONS: _, ...env } = process.env
  return spawnSync(node, [bin, ...args], { encoding: "utf8", env, timeout: 30_000 })
}

describe("nodeTooOld", () => {
  it("names the Node it needs and the one it runs on, below 22", () => {
    assert.strictEqual(nodeTooOld("bedrock-embed", "v20.20.2"), line("v20.20.2"))
    assert.strictEqual(nodeTooOld("bedrock-embed", "v21.7.3"), line("v21.7.3"))
    assert.strictEqual(nodeTooOld("bedrock-embed", "v18.0.0"), line("v18.0.0"))
  })

  it("lets 22 and newer through, and versions it cannot read", () => {
    for (const version of ["v22.0.0", "v22.12.0", "v24.21.0", "v100.1.2", process.version, "", "bun"]) {
      assert.isUndefined(nodeTooOld("bedrock-embed", version), version)
    }
  })
})

const oldNode = findOldNode()

describe("dist/bin.js", () => {
  it.skipIf(oldNode === undefined)(
    oldNode === undefined
      ? "on a Node older than 22 prints one line and exits 1 (skipped: this machine has no node older than 22)"
      : `on a Node older than 22 (${oldNode.path}, ${oldNode.version}) prints one line and exits 1`,
    () => {
      for (const args of [["--version"], ["serve", "--port", "0"], ["embed", "--model", "x"]]) {
        const result = run(oldNode!.path, args)
        assert.strictEqual(result.stderr, `${line(oldNode!.version)}\n`, args.join(" "))
        assert.strictEqual(result.stdout, "", args.join(" "))
        assert.strictEqual(result.status, 1, args.join(" "))
      }
    }
  )

  it("on this Node runs the command line", () => {
    const result = run(process.execPath, ["--version"])
    assert.notInclude(result.stderr, "needs Node.js")
    assert.include(result.stdout, "bedrock-embed")
    assert.strictEqual(result.status, 0)
  })
})
