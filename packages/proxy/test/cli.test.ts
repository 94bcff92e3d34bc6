/**
 * The `bedrock-embed` command line: help and version on every command, usage errors exit 2 with a
 * message on stderr, runtime failures exit 1, signals stop `serve` and `emulator` with 0, and the
 * emulator is loaded only by the commands that run it.
 */
import { once } from "node:events"
import { mkdtemp, readFile, writeFile } from "node:fs/promises"
import { createServer } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { assert, describe, it } from "@effect/vitest"
import {
  bedrockEmbed,
  bedrockEmbedEmulator,
  emulatorListening,
  finish,
  listening,
  packageVersion,
  withoutEmulator
} from "./cli.ts"
import { bedrockEmbedInProcess } from "./cliInProcess.ts"

/** The FLAGS section of a help text. */
const flagsSection = (help: string) => /\nFLAGS\n([\s\S]*?)\n\n/.exec(help)?.[1] ?? ""

/** A config whose deployment no request reaches: serving it needs no emulator. */
const configFile = async () => {
  const file = join(await mkdtemp(join(tmpdir(), "bedrock-embed-cli-")), "config.yaml")
  await writeFile(
    file,
    "model_list:\n  - model_name: titan\n    litellm_params:\n      model: bedrock/amazon.titan-embed-text-v2:0\n      aws_region_name: us-east-1\n"
  )
  return file
}

describe.concurrent("bedrock-embed usage", () => {
  it("--help lists the commands and the exit codes on stdout, exit 0", async () => {
    const { code, out, err } = await finish(bedrockEmbed(["--help"]))
    assert.strictEqual(code, 0, err)
    for (const word of ["USAGE", "serve", "embed", "emulator", "Exit codes", "3 embed finished with failed inputs"]) {
      assert.include(out, word)
    }
    assert.strictEqual(err, "")
  })

  it("without a command prints the help, exit 0", async () => {
    const { code, out } = await finish(bedrockEmbed([]))
    assert.strictEqual(code, 0)
    assert.include(out, "SUBCOMMANDS")
  })

  it("serve --help names its flags and defaults", async () => {
    const { code, out } = await finish(bedrockEmbed(["serve", "--help"]))
    assert.strictEqual(code, 0)
    for (const word of ["--config, -c FILE", "--port, -p N", "default 4000", "--host HOST", "default 127.0.0.1"]) {
      assert.include(out, word)
    }
  })

  it("embed --help names every flag", async () => {
    const { code, out } = await finish(bedrockEmbed(["embed", "--help"]))
    assert.strictEqual(code, 0)
    const flags = ["--model, -m", "--in, -i", "--out, -o", "--field", "--id-field", "--dimensions", "--concurrency"]
    const more = ["--region", "--endpoint", "--param", "--no-progress", "--mode", "--s3-uri", "--role-arn"]
    for (const flag of [...flags, ...more, "--poll-seconds", "--bedrock-endpoint", "--s3-endpoint"]) {
      assert.include(out, flag)
    }
  })

  it("emulator --help shows the same flags as bedrock-embed-emulator --help", async () => {
    const [embedded, standalone] = await Promise.all([
      finish(bedrockEmbed(["emulator", "--help"])),
      finish(bedrockEmbedEmulator(["--help"]))
    ])
    assert.strictEqual(embedded.code, 0)
    assert.strictEqual(standalone.code, 0)
    assert.include(embedded.out, "USAGE\n  bedrock-embed emulator [flags]")
    assert.include(flagsSection(embedded.out), "--error-rate N")
    assert.strictEqual(flagsSection(embedded.out), flagsSection(standalone.out))
  })

  it("--version prints the package.json version, exit 0", async () => {
    const { code, out } = await finish(bedrockEmbed(["--version"]))
    assert.strictEqual(code, 0)
    assert.strictEqual(out.trim(), `bedrock-embed v${packageVersion("proxy")}`)
  })

  it("an unknown flag exits 2 with a message on stderr and nothing on stdout", async () => {
    const { code, out, err } = await finish(bedrockEmbed(["serve", "--bogus"]))
    assert.strictEqual(code, 2)
    assert.include(err, "bedrock-embed: Unrecognized flag: --bogus")
    assert.include(err, 'Run "bedrock-embed serve --help" for usage.')
    assert.strictEqual(out, "")
  })

  it("an unknown command exits 2", async () => {
    const { code, err } = await finish(bedrockEmbed(["serv"]))
    assert.strictEqual(code, 2)
    assert.include(err, 'Unknown subcommand "serv"')
  })

  it("a bad or missing value exits 2 naming the flag", async () => {
    const [port, mode, missing, param] = await Promise.all([
      finish(bedrockEmbed(["serve", "--port", "70000"])),
      finish(bedrockEmbed(["embed", "--model", "m", "--in", "a", "--out", "b", "--mode", "fast"])),
      finish(bedrockEmbed(["embed", "--model", "m"])),
      finish(bedrockEmbed(["embed", "--model", "m", "--in", "a", "--out", "b", "--param", "dimensions"]))
    ])
    assert.deepStrictEqual([port.code, mode.code, missing.code, param.code], [2, 2, 2, 2])
    assert.include(port.err, '--port must be an integer from 0 to 65535; got "70000"')
    assert.include(mode.err, "--mode")
    assert.include(missing.err, "Missing required flag: --in")
    assert.include(param.err, '--param takes key=value; got "dimensions"')
  })

  it("run in the test's process (cliInProcess.ts), it prints and exits as the binary does", async () => {
    const missing = join(await mkdtemp(join(tmpdir(), "bedrock-embed-cli-")), "missing.jsonl")
    // Help, a usage error, a runtime failure (reported by the runtime, as `main` reports it).
    const cases: ReadonlyArray<readonly [ReadonlyArray<string>, number]> = [
      [["embed", "--help"], 0],
      [["help", "nosuch"], 2],
      [["embed", "--model", "m", "--in", missing, "--out", `${missing}.out`, "--no-progress"], 1]
    ]
    for (const [args, code] of cases) {
      const [binary, inProcess] = await Promise.all([finish(bedrockEmbed(args)), bedrockEmbedInProcess(args)])
      assert.deepStrictEqual(inProcess, binary, args.join(" "))
      assert.strictEqual(inProcess.code, code, args.join(" "))
    }
  })
})

describe.concurrent("the optional emulator", () => {
  it("serve without --config exits 1 naming the package to install when it is missing", async () => {
    const { code, err } = await finish(bedrockEmbed(["serve", "--port", "0"], {}, withoutEmulator))
    assert.strictEqual(code, 1)
    assert.include(err, "serve without --config needs the optional package @bedrock-embed/emulator")
    assert.include(err, "npm install @bedrock-embed/emulator")
  })

  it("the emulator command exits 1 naming the package when it is missing", async () => {
    const { code, err } = await finish(bedrockEmbed(["emulator", "--port", "0"], {}, withoutEmulator))
    assert.strictEqual(code, 1)
    assert.include(err, "npm install @bedrock-embed/emulator")
  })

  it("help and serve --config work without it: nothing imports it statically", async () => {
    const help = await finish(bedrockEmbed(["--help"], {}, withoutEmulator))
    assert.strictEqual(help.code, 0, help.err)
    const child = bedrockEmbed(["serve", "--config", await configFile(), "--port", "0"], {}, withoutEmulator)
    const { out } = await listening(child)
    assert.include(out, "(1 model)")
    child.kill("SIGINT")
    assert.strictEqual((await once(child, "exit"))[0], 0)
  })
})

describe("bedrock-embed runtime outcomes", () => {
  it("emulator serves until SIGINT, then exits 0", async () => {
    const child = bedrockEmbed(["emulator", "--port", "0", "--no-s3"])
    const url = await emulatorListening(child)
    assert.strictEqual((await fetch(`${url}/_emulator/stats`)).status, 200)
    child.kill("SIGINT")
    assert.strictEqual((await once(child, "exit"))[0], 0)
  })

  it("serve exits 1 when it cannot listen", async () => {
    const taken = createServer()
    await new Promise<void>((resolve) => taken.listen(0, "127.0.0.1", resolve))
    const address = taken.address()
    const port = typeof address === "object" && address !== null ? address.port : 0
    try {
      const { code, err } = await finish(bedrockEmbed(["serve", "--config", await configFile(), "--port", `${port}`]))
      assert.strictEqual(code, 1)
      assert.include(err, `bedrock-embed: cannot listen on 127.0.0.1:${port}`)
    } finally {
      taken.close()
    }
  })

  it("embed exits 3 naming the file and line of an input that is not one, without a call", async () => {
    const dir = await mkdtemp(join(tmpdir(), "bedrock-embed-cli-"))
    const input = join(dir, "docs.jsonl")
    await writeFile(input, '{"id":"a","body":"no text field"}\n')
    const { code, err, out } = await finish(
      bedrockEmbed([
        "embed",
        "--model",
        "amazon.titan-embed-text-v2:0",
        "--in",
        input,
        "--out",
        join(dir, "vectors.jsonl"),
        // Nothing listens here: the run must end on the input, not on the network.
        "--endpoint",
        "http://127.0.0.1:9",
        "--region",
        "us-east-1",
        "--no-progress"
      ])
    )
    // A dirty line goes to the errors file with its line number; the rest of the corpus would run.
    assert.strictEqual(code, 3, err)
    const errors = JSON.parse(await readFile(join(dir, "vectors.jsonl.errors.jsonl"), "utf8")) as { message: string }
    assert.include(errors.message, `${input}:1: the text field "text" is missing`)
    assert.include(out, "embedded 0 of 1 (skipped 0 already done, failed 1)")
    assert.include(out, "0 Bedrock calls")
  })
})
