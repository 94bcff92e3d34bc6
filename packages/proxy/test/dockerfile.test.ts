/**
 * The repository's `Dockerfile` runs the gateway as documented: Node 24 slim, an unprivileged
 * user, a health check on the route the gateway serves, the installed bin as entrypoint, and a
 * `CMD` that really starts `serve` on a mounted config — run here with that very argv (the
 * config path and port swapped for a temp file and a free port) against the emulator, probed
 * like the `HEALTHCHECK`, then stopped with SIGTERM as `docker stop` does. CI's consumer smoke
 * (`scripts/consumer-smoke.sh`) runs the same argv from the installed tarballs.
 */
import { once } from "node:events"
import { mkdtemp, readFile, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { assert, describe, it } from "@effect/vitest"
import { bedrockEmbed, bedrockEmbedEmulator, emulatorListening, listening } from "./cli.ts"

const root = fileURLToPath(new URL("../../../", import.meta.url))

interface Stage {
  readonly from: string
  readonly lines: ReadonlyArray<{ readonly instruction: string; readonly args: string }>
}

/** The Dockerfile's stages: `FROM` and the instructions under it, continuation lines joined. */
const stages = (text: string): ReadonlyArray<Stage> => {
  const logical = text
    .replace(/\\\n/g, " ")
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line !== "" && !line.startsWith("#"))
  const out: Array<{ from: string; lines: Array<{ instruction: string; args: string }> }> = []
  for (const line of logical) {
    const [, instruction = "", args = ""] = /^(\S+)\s*(.*)$/.exec(line) ?? []
    if (instruction.toUpperCase() === "FROM") out.push({ from: args, lines: [] })
    else out.at(-1)?.lines.push({ instruction: instruction.toUpperCase(), args })
  }
  return out
}

const only = (stage: Stage, instruction: string) => {
  const found = stage.lines.filter((l) => l.instruction === instruction)
  assert.strictEqual(found.length, 1, `one ${instruction} in the image's stage`)
  return found[0]!.args
}

/** An exec-form (JSON array) instruction's argv. */
const execForm = (args: string): ReadonlyArray<string> => {
  const argv = JSON.parse(args) as unknown
  assert.isTrue(Array.isArray(argv) && argv.every((a) => typeof a === "string"), `exec form: ${args}`)
  return argv as ReadonlyArray<string>
}

const dockerfile = async () => stages(await readFile(join(root, "Dockerfile"), "utf8"))

/** The workspace packages `@bedrock-embed/proxy` needs at run time, itself included. */
const runtimePackages = async (): Promise<ReadonlySet<string>> => {
  const dirs = new Map<string, string>()
  for (const dir of ["core", "provider-titan", "provider-cohere", "provider-nova", "provider-twelvelabs"])
    dirs.set(`@bedrock-embed/${dir}`, dir)
  dirs.set("bedrock-embed", "bedrock-embed")
  dirs.set("@bedrock-embed/proxy", "proxy")
  dirs.set("@bedrock-embed/emulator", "emulator")
  const needed = new Set<string>()
  const visit = async (name: string) => {
    const dir = dirs.get(name)
    if (dir === undefined || needed.has(dir)) return
    needed.add(dir)
    const pkg = JSON.parse(await readFile(join(root, "packages", dir, "package.json"), "utf8")) as {
      dependencies?: Record<string, string>
    }
    for (const dep of Object.keys(pkg.dependencies ?? {})) await visit(dep)
  }
  await visit("@bedrock-embed/proxy")
  return needed
}

describe("Dockerfile", () => {
  it("builds on Node 24 slim and runs as an unprivileged user owning /config, with a health check on /health/liveliness", async () => {
    const all = await dockerfile()
    const image = all.at(-1)!
    assert.match(image.from, /^node:24(\.\d+)*-slim$/)
    for (const stage of all) assert.match(stage.from, /^node:24(\.\d+)*-slim( AS \w+)?$/i)
    const user = only(image, "USER")
    assert.notInclude(["root", "0", "0:0"], user)
    // The config's directory is the user's: the disk cache and the key database are written next to the config.
    const runs = image.lines.filter((l) => l.instruction === "RUN").map((l) => l.args)
    assert.isTrue(
      runs.some((run) => new RegExp(`chown ${user}(:${user})? /config(\\s|$)`).test(run)),
      `a RUN gives /config to ${user}: ${runs.join(" | ")}`
    )
    const health = only(image, "HEALTHCHECK")
    assert.include(health, "http://127.0.0.1:4000/health/liveliness")
    assert.include(execForm(only(image, "CMD")).join(" "), "--port 4000")
  })

  it("packs every workspace package the gateway needs at run time, and not the emulator", async () => {
    const build = (await dockerfile())[0]!
    const packed = /for p in ([^;]+);/
      .exec(build.lines.map((l) => l.args).join("\n"))?.[1]
      ?.trim()
      .split(/\s+/)
    assert.isDefined(packed, "the build stage packs packages in a `for p in …;` loop")
    const needed = await runtimePackages()
    assert.sameMembers([...packed!], [...needed])
    assert.notInclude(packed!, "emulator")
  })

  it("its ENTRYPOINT + CMD serve a mounted config, answer the health check and stop with 0 on SIGTERM", async () => {
    const image = (await dockerfile()).at(-1)!
    const entrypoint = execForm(only(image, "ENTRYPOINT"))
    const cmd = execForm(only(image, "CMD"))
    assert.deepStrictEqual(entrypoint, ["/app/node_modules/.bin/bedrock-embed"])
    assert.strictEqual(only(image, "WORKDIR"), "/app")

    const emulator = bedrockEmbedEmulator(["--port", "0", "--no-s3"])
    try {
      const emulatorUrl = await emulatorListening(emulator)
      const config = join(await mkdtemp(join(tmpdir(), "bedrock-embed-docker-")), "config.yaml")
      await writeFile(
        config,
        [
          "model_list:",
          "  - model_name: titan",
          "    litellm_params:",
          "      model: bedrock/amazon.titan-embed-text-v2:0",
          "      aws_region_name: us-east-1",
          `      aws_bedrock_runtime_endpoint: ${emulatorUrl}`,
          ""
        ].join("\n")
      )
      // The image's argv, with the mounted config and the published port swapped for local ones.
      const argv = cmd.map((arg, i) => (arg === "/config/config.yaml" ? config : cmd[i - 1] === "--port" ? "0" : arg))
      assert.deepStrictEqual(argv.slice(0, 2), ["serve", "--config"])
      const gateway = bedrockEmbed(argv)
      const { url } = await listening(gateway)
      const port = new URL(url).port
      const health = await fetch(`http://127.0.0.1:${port}/health/liveliness`)
      assert.strictEqual(health.status, 200)
      const response = await fetch(`http://127.0.0.1:${port}/v1/embeddings`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ model: "titan", input: ["hello", "world"] })
      })
      assert.strictEqual(response.status, 200)
      const body = (await response.json()) as { data: ReadonlyArray<{ embedding: ReadonlyArray<number> }> }
      assert.deepStrictEqual(
        body.data.map((d) => d.embedding.length),
        [1024, 1024]
      )
      gateway.kill("SIGTERM")
      assert.strictEqual((await once(gateway, "exit"))[0], 0)
    } finally {
      emulator.kill("SIGKILL")
    }
  })
})
