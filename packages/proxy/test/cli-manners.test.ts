/**
 * The command line as a new user meets it (issue 15): `help` answers like `--help`, a port it
 * cannot take says why and what to do, the banner's `curl` works as printed (with the master key
 * as `$NAME`, never the secret), `<out>.errors.jsonl` appears only when an input fails, the
 * gateway and `embed` write the same number text for the same vector, and a missing emulator is
 * one line naming the package to install.
 */
import { type ChildProcess, execFile } from "node:child_process"
import { once } from "node:events"
import { existsSync } from "node:fs"
import { mkdtemp, readFile, writeFile } from "node:fs/promises"
import { createServer, type Server } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { promisify } from "node:util"
import { type Emulator, startEmulator } from "@bedrock-embed/emulator"
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import { emulatorLoadFailure, isMissingPackage } from "../src/internal/cli/shared.ts"
import { bedrockEmbed, bedrockEmbedEmulator, finish, listening, withoutEmulator } from "./cli.ts"
import { bedrockEmbedInProcess } from "./cliInProcess.ts"

const sh = promisify(execFile)

let emulator: Emulator
let dir: string
beforeAll(async () => {
  emulator = await startEmulator({ s3: false })
  dir = await mkdtemp(join(tmpdir(), "bedrock-embed-manners-"))
})
afterAll(() => emulator.close())

/** A config serving one Titan v2 deployment on the test's emulator, with `extra` YAML appended. */
/**
 * SIGINT, then the gateway's exit code, which must be 0; one that had already exited (after its
 * banner) or that does not exit within 20 s fails with what it printed on stderr.
 */
const interrupted = async (child: ChildProcess) => {
  let err = ""
  child.stderr?.on("data", (chunk: Buffer) => {
    err += chunk.toString()
  })
  if (child.exitCode === null && child.signalCode === null) {
    const exited = once(child, "exit")
    child.kill("SIGINT")
    const timer = setTimeout(() => child.kill("SIGKILL"), 20_000)
    await exited
    clearTimeout(timer)
  }
  assert.strictEqual(child.exitCode, 0, `the gateway's exit after SIGINT (signal ${child.signalCode}): ${err}`)
}

/** A config in a directory of its own (`serve` keeps its key database next to it). */
const configFile = async (name: string, extra = "") => {
  const file = join(await mkdtemp(join(dir, "config-")), name)
  await writeFile(
    file,
    "model_list:\n  - model_name: titan\n    litellm_params:\n      model: bedrock/amazon.titan-embed-text-v2:0\n" +
      `      aws_region_name: us-east-1\n      aws_bedrock_runtime_endpoint: ${emulator.url}\n${extra}`
  )
  return file
}

/** A port something else holds for the duration of `use`. */
const withTakenPort = async (use: (port: number) => Promise<void>) => {
  const taken: Server = createServer()
  await new Promise<void>((resolve) => taken.listen(0, "127.0.0.1", resolve))
  const address = taken.address()
  try {
    await use(typeof address === "object" && address !== null ? address.port : 0)
  } finally {
    taken.close()
  }
}

describe.concurrent("help as a command", () => {
  it("bedrock-embed help [command] prints what --help prints, exit 0", async () => {
    const pairs = [
      [["help"], ["--help"]],
      [
        ["help", "serve"],
        ["serve", "--help"]
      ],
      [
        ["help", "embed"],
        ["embed", "--help"]
      ],
      [
        ["help", "emulator"],
        ["emulator", "--help"]
      ]
    ] as const
    // The first pair from the real binary, the others from its code run in this process.
    for (const [i, [asked, flag]] of pairs.entries()) {
      const run = (args: ReadonlyArray<string>) => (i === 0 ? finish(bedrockEmbed(args)) : bedrockEmbedInProcess(args))
      const [help, expected] = await Promise.all([run(asked), run(flag)])
      assert.strictEqual(help.code, 0, `${asked.join(" ")}: ${help.err}`)
      assert.strictEqual(help.out, expected.out, asked.join(" "))
      assert.include(help.out, "USAGE")
    }
  })

  it("help of an unknown command is a usage error; bedrock-embed-emulator help is its --help", async () => {
    const unknown = await finish(bedrockEmbed(["help", "nosuch"]))
    assert.strictEqual(unknown.code, 2)
    assert.include(unknown.err, '"nosuch"')
    const [help, expected] = await Promise.all([
      finish(bedrockEmbedEmulator(["help"])),
      finish(bedrockEmbedEmulator(["--help"]))
    ])
    assert.strictEqual(help.code, 0, help.err)
    assert.strictEqual(help.out, expected.out)
  })
})

describe.concurrent("a port that cannot be taken", () => {
  it("serve says the port is in use and how to pick another, exit 1", () =>
    withTakenPort(async (port) => {
      const config = await configFile("in-use.yaml")
      const { code, err } = await finish(bedrockEmbed(["serve", "--config", config, "--port", `${port}`]))
      assert.strictEqual(code, 1)
      assert.strictEqual(
        err.trim(),
        `bedrock-embed: cannot listen on 127.0.0.1:${port}: port ${port} is already in use (EADDRINUSE): ` +
          "stop what listens there, or pick another --port (--port 0 picks a free one)"
      )
    }))

  it("serve on an address the machine does not have says so and names --host", async () => {
    const config = await configFile("no-address.yaml")
    // 192.0.2.0/24 is TEST-NET-1: never an address of this machine.
    const { code, err } = await finish(
      bedrockEmbed(["serve", "--config", config, "--port", "0", "--host", "192.0.2.1"])
    )
    assert.strictEqual(code, 1)
    assert.include(err, "cannot listen on 192.0.2.1:0: 192.0.2.1 is not an address of this machine (EADDRNOTAVAIL)")
    assert.include(err, "--host 127.0.0.1")
  })

  it("bedrock-embed-emulator gives the reason and how to pick another port", () =>
    withTakenPort(async (port) => {
      const { code, err } = await finish(bedrockEmbedEmulator(["--port", `${port}`, "--no-s3"]))
      assert.strictEqual(code, 1)
      assert.include(err, `bedrock-embed-emulator: cannot listen on 127.0.0.1:${port}: listen EADDRINUSE`)
      assert.include(err, "pick another --port (--port 0 picks a free one)")
    }))
})

/** The banner's `try:` command, run by a shell with `env`; its output as JSON. */
const runBannerCurl = async (banner: string, env: Record<string, string>) => {
  const line = /^ {2}try: (curl .*)$/m.exec(banner)?.[1]
  assert.isDefined(line, banner)
  const { stdout } = await sh("sh", ["-c", line!], { env: { PATH: process.env.PATH ?? "", ...env } })
  return JSON.parse(stdout) as { data?: Array<{ embedding: Array<number> }>; error?: unknown }
}

describe.concurrent("the banner's curl", () => {
  it("with master_key: os.environ/NAME it sends Authorization: Bearer $NAME, and works as printed", async () => {
    const secret = "sk-manners-secret-1234"
    const config = await configFile("env-key.yaml", "general_settings:\n  master_key: os.environ/GATEWAY_KEY\n")
    const child = bedrockEmbed(["serve", "--config", config, "--port", "0"], { GATEWAY_KEY: secret })
    try {
      const { out } = await listening(child)
      assert.include(out, `-H "Authorization: Bearer $GATEWAY_KEY"`)
      assert.notInclude(out, secret)
      const answer = await runBannerCurl(out, { GATEWAY_KEY: secret })
      assert.strictEqual(answer.data?.[0]?.embedding.length, 1024, JSON.stringify(answer))
      // Without the key the same request is refused: the header is what makes it work.
      const refused = await runBannerCurl(out, { GATEWAY_KEY: "wrong" })
      assert.isDefined(refused.error)
    } finally {
      await interrupted(child)
    }
  })

  it("with an inline master_key it shows a placeholder, never the key", async () => {
    const secret = "sk-inline-secret-5678"
    const config = await configFile("inline-key.yaml", `general_settings:\n  master_key: ${secret}\n`)
    const child = bedrockEmbed(["serve", "--config", config, "--port", "0"])
    try {
      const { out } = await listening(child)
      assert.include(out, `-H "Authorization: Bearer <your master_key>"`)
      assert.notInclude(out, secret)
      // And where the dashboard is; a gateway without a key has none.
      const url = /listening on (http:\/\/\S+)/.exec(out)?.[1]
      assert.include(out, `  dashboard: ${url}/ui (the master key)\n`)
    } finally {
      await interrupted(child)
    }
  })

  it("without --config it names a model the embedded emulator serves, and works as printed", async () => {
    const child = bedrockEmbed(["serve", "--port", "0"])
    try {
      const { out } = await listening(child)
      assert.notInclude(out, "Authorization")
      assert.notInclude(out, "dashboard:")
      const answer = await runBannerCurl(out, {})
      assert.isAbove(answer.data?.[0]?.embedding.length ?? 0, 0, JSON.stringify(answer))
    } finally {
      await interrupted(child)
    }
  })
})

/** `bedrock-embed embed` run in this process. */
const embed = (args: ReadonlyArray<string>) =>
  bedrockEmbedInProcess(["embed", "--endpoint", emulator.url, "--region", "us-east-1", "--no-progress", ...args])

describe.concurrent("<out>.errors.jsonl", () => {
  for (const format of ["jsonl", "npy", "parquet", "arrow"] as const) {
    it(`--format ${format}: none when no input fails; an earlier run's is removed`, async () => {
      const input = join(dir, `clean-${format}.jsonl`)
      await writeFile(input, '{"id":"a","text":"one"}\n{"id":"b","text":"two"}\n')
      const output = join(dir, `clean.${format}`)
      const run = () =>
        embed(["--model", "amazon.titan-embed-text-v2:0", "--in", input, "--out", output, "--format", format])
      const first = await run()
      assert.strictEqual(first.code, 0, first.err)
      assert.isTrue(existsSync(output))
      assert.isFalse(existsSync(`${output}.errors.jsonl`))
      // A bad line: the file appears with it; fixed, the re-run leaves no stale errors file.
      await writeFile(input, '{"id":"a","text":"one"}\n{"id":"b","text":"two"}\n{"id":"c"}\n')
      const failed = await run()
      assert.strictEqual(failed.code, 3, failed.err)
      assert.include(await readFile(`${output}.errors.jsonl`, "utf8"), '"id":"c"')
      await writeFile(input, '{"id":"a","text":"one"}\n{"id":"b","text":"two"}\n{"id":"c","text":"three"}\n')
      const fixed = await run()
      assert.strictEqual(fixed.code, 0, fixed.err)
      assert.include(fixed.out, "embedded 1 of 3 (skipped 2 already done, failed 0)")
      assert.isFalse(existsSync(`${output}.errors.jsonl`))
    })
  }
})

/** The number texts of the first `"embedding":[…]` in a JSON text. */
const numberTexts = (json: string): ReadonlyArray<string> => {
  const match = /"embedding":\[([^\]]*)\]/.exec(json)
  assert.isNotNull(match, json.slice(0, 200))
  return match![1]!.split(",")
}

describe("one number rule for vectors", () => {
  // Titan text: the emulator spells numbers as Bedrock's Java doubles (-4.1E-4); Cohere and Nova
  // as Java floats (0.0054293056): both paths must respell them the same way.
  const models = ["amazon.titan-embed-text-v2:0", "cohere.embed-english-v3", "amazon.nova-2-multimodal-embeddings-v1:0"]

  it("the gateway's float response and embed's JSONL carry the same number texts for the same text", async () => {
    const child = bedrockEmbed(["serve", "--port", "0"])
    try {
      const { url } = await listening(child)
      for (const model of models) {
        const response = await fetch(`${url}/v1/embeddings`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ model, input: "the same text" })
        })
        assert.strictEqual(response.status, 200, model)
        const gateway = numberTexts(await response.text())
        const input = join(dir, "same.jsonl")
        await writeFile(input, '{"id":"a","text":"the same text"}\n')
        const output = join(dir, `same-${model.replace(/[:.]/g, "-")}.jsonl`)
        const run = await embed(["--model", model, "--in", input, "--out", output])
        assert.strictEqual(run.code, 0, run.err)
        const file = numberTexts(await readFile(output, "utf8"))
        assert.strictEqual(gateway.length, file.length, model)
        assert.deepStrictEqual(gateway, file, model)
        // The rule: the shortest text that reads back, as a double, as the model's float32.
        assert.isTrue(
          file.every((text) => Math.fround(Number(text)) === Number(text) && String(Number(text)) === text),
          model
        )
      }
    } finally {
      await interrupted(child)
    }
  })
})

describe.concurrent("the optional emulator, missing", () => {
  it("maps a real failed import of the package to one line naming what to install", async () => {
    const missing = "@bedrock-embed/no-such-package-for-this-test"
    const cause = await import(missing).then(
      () => assert.fail("imported"),
      (error: unknown) => error
    )
    assert.isTrue(isMissingPackage(cause, missing))
    assert.strictEqual(
      emulatorLoadFailure("serve without --config", cause, missing).message,
      `serve without --config needs the optional package ${missing}, which is not installed: ` +
        `npm install ${missing} (next to @bedrock-embed/proxy), or pass --config config.yaml to serve your own models`
    )
    // Another package missing (one the emulator itself imports) is not "the emulator is not installed".
    assert.isFalse(isMissingPackage(cause, "@bedrock-embed/emulator"))
    assert.match(
      emulatorLoadFailure("serve without --config", cause).message,
      /^serve without --config cannot load @bedrock-embed\/emulator: Cannot find package '@bedrock-embed\/no-such-package-for-this-test'/
    )
  })

  it("serve without --config and the emulator command print one line and exit 1", async () => {
    const [serve, emulatorCommand] = await Promise.all([
      finish(bedrockEmbed(["serve", "--port", "0"], {}, withoutEmulator)),
      finish(bedrockEmbed(["emulator", "--port", "0"], {}, withoutEmulator))
    ])
    assert.strictEqual(serve.code, 1)
    assert.strictEqual(
      serve.err.trim(),
      "bedrock-embed: serve without --config needs the optional package @bedrock-embed/emulator, which is not installed: " +
        "npm install @bedrock-embed/emulator (next to @bedrock-embed/proxy), or pass --config config.yaml to serve your own models"
    )
    assert.strictEqual(emulatorCommand.code, 1)
    assert.strictEqual(
      emulatorCommand.err.trim(),
      "bedrock-embed: the emulator command needs the optional package @bedrock-embed/emulator, which is not installed: " +
        "npm install @bedrock-embed/emulator (next to @bedrock-embed/proxy)"
    )
  })
})
