/**
 * Both bins, `bedrock-embed` and `bedrock-embed-emulator`, on a Node.js older than 22 print one
 * line that says which Node they need and exit 1 — not a stack from deep inside a dependency, and
 * not a gateway or emulator that half starts. The check is a function of `process.version` (tested
 * here on version strings) that each entry module runs before it loads anything else; each
 * package keeps its own import-free copy, since nothing may load before it. The built
 * `dist/bin.js` of each (what the package's `bin` runs once installed) is then run on a real old
 * Node, when the machine has one, and on this test's Node.
 */
import { execFileSync, spawnSync } from "node:child_process"
import { existsSync } from "node:fs"
import * as Path from "node:path"
import { fileURLToPath } from "node:url"
import { assert, describe, it } from "@effect/vitest"
import * as Emulator from "../../emulator/src/internal/nodeVersion.ts"
import * as Gateway from "../src/internal/nodeVersion.ts"

const bins = [
  {
    name: "bedrock-embed",
    nodeTooOld: Gateway.nodeTooOld,
    bin: fileURLToPath(new URL("../dist/bin.js", import.meta.url)),
    argvs: [["--version"], ["serve", "--port", "0"], ["embed", "--model", "x"]]
  },
  {
    name: "bedrock-embed-emulator",
    nodeTooOld: Emulator.nodeTooOld,
    bin: fileURLToPath(new URL("../../emulator/dist/bin.js", import.meta.url)),
    argvs: [["--version"], ["--port", "0"]]
  }
] as const
const lineOf = (name: string, version: string) =>
  `${name} needs Node.js 22 or newer (this is ${version}); install Node 22+ and run it again`

/** The first `node` on the PATH (or in the usual system places) older than 22, with its version. */
const findOldNode = (): { readonly path: string; readonly version: string } | undefined => {
  const dirs = [...(process.env.PATH ?? "").split(Path.delimiter), "/usr/bin", "/bin", "/usr/local/bin"]
  for (const dir of dirs.filter((d) => d !== "")) {
    const path = Path.join(dir, "node")
    if (!existsSync(path)) continue
    try {
      const version = execFileSync(path, ["--version"], { encoding: "utf8", timeout: 10_000 }).trim()
      if (Number(/^v(\d+)\./.exec(version)?.[1]) < Gateway.MINIMUM_NODE_MAJOR) return { path, version }
    } catch {
      // not a runnable node: try the next one
    }
  }
  return undefined
}

/** Runs a built bin with `node`, without the test runner's NODE_OPTIONS. */
const run = (node: string, bin: string, args: ReadonlyArray<string>) => {
  assert.isTrue(existsSync(bin), `${bin} is missing: build first (pnpm run build)`)
  const { NODE_OPTIONS: _, ...env } = process.env
  return spawnSync(node, [bin, ...args], { encoding: "utf8", env, timeout: 30_000 })
}

const oldNode = findOldNode()

for (const { name, nodeTooOld, bin, argvs } of bins) {
  const line = (version: string) => lineOf(name, version)

  describe(`${name}: nodeTooOld`, () => {
    it("names the Node it needs and the one it runs on, below 22", () => {
      assert.strictEqual(nodeTooOld(name, "v20.20.2"), line("v20.20.2"))
      assert.strictEqual(nodeTooOld(name, "v21.7.3"), line("v21.7.3"))
      assert.strictEqual(nodeTooOld(name, "v18.0.0"), line("v18.0.0"))
    })

    it("lets 22 and newer through, and versions it cannot read", () => {
      for (const version of ["v22.0.0", "v22.12.0", "v24.21.0", "v100.1.2", process.version, "", "bun"]) {
        assert.isUndefined(nodeTooOld(name, version), version)
      }
    })
  })

  describe(`${name}: dist/bin.js`, () => {
    it.skipIf(oldNode === undefined)(
      oldNode === undefined
        ? "on a Node older than 22 prints one line and exits 1 (skipped: this machine has no node older than 22)"
        : `on a Node older than 22 (${oldNode.path}, ${oldNode.version}) prints one line and exits 1`,
      () => {
        for (const args of argvs) {
          const result = run(oldNode!.path, bin, args)
          assert.strictEqual(result.stderr, `${line(oldNode!.version)}\n`, args.join(" "))
          assert.strictEqual(result.stdout, "", args.join(" "))
          assert.strictEqual(result.status, 1, args.join(" "))
        }
      }
    )

    it("on this Node runs the command line", () => {
      const result = run(process.execPath, bin, ["--version"])
      assert.notInclude(result.stderr, "needs Node.js")
      assert.include(result.stdout, name)
      assert.strictEqual(result.status, 0)
    })
  })
}
