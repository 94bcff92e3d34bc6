/** Shared helpers of the CLI tests: run `bedrock-embed`, collect its output, wait for it to listen. */
import { type ChildProcess, spawn } from "node:child_process"
import { once } from "node:events"
import { readFileSync } from "node:fs"
import { fileURLToPath } from "node:url"
import { EMULATOR_CREDENTIALS } from "@bedrock-embed/emulator"

const root = fileURLToPath(new URL("../../../", import.meta.url))

/** Node options that make `@bedrock-embed/emulator` unresolvable, as when it is not installed. */
export const withoutEmulator: ReadonlyArray<string> = [
  "--import",
  fileURLToPath(new URL("./no-emulator.ts", import.meta.url))
]

/**
 * Spawns the CLI with the emulator's identity in the environment (and nothing else of AWS's).
 * `process.execPath` is node itself: `node_modules/.bin/node` is a shell wrapper that does not
 * forward signals.
 */
export const bedrockEmbed = (
  args: ReadonlyArray<string>,
  env: Record<string, string> = {},
  nodeOptions: ReadonlyArray<string> = []
): ChildProcess =>
  spawn(process.execPath, [...nodeOptions, `${root}packages/proxy/src/bin.ts`, ...args], {
    stdio: ["ignore", "pipe", "pipe"],
    env: {
      ...process.env,
      AWS_ACCESS_KEY_ID: EMULATOR_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: EMULATOR_CREDENTIALS.secretAccessKey,
      AWS_PROFILE: "",
      ...env
    }
  })

/** Spawns `bedrock-embed-emulator`. */
export const bedrockEmbedEmulator = (args: ReadonlyArray<string>): ChildProcess =>
  spawn(process.execPath, [`${root}packages/emulator/src/bin.ts`, ...args], { stdio: ["ignore", "pipe", "pipe"] })

/** The `version` of a package's package.json (`proxy`, `emulator`). */
export const packageVersion = (pkg: string): string =>
  (JSON.parse(readFileSync(`${root}packages/${pkg}/package.json`, "utf8")) as { version: string }).version

/** Waits for the process to exit; its code and everything it printed. */
export const finish = async (child: ChildProcess) => {
  let out = ""
  let err = ""
  child.stdout!.on("data", (d) => {
    out += d
  })
  child.stderr!.on("data", (d) => {
    err += d
  })
  const [code] = await once(child, "exit")
  return { code: code as number | null, out, err }
}

/** Waits for `serve` to print its URL and the whole banner; everything printed so far. */
export const listening = (child: ChildProcess) =>
  new Promise<{ url: string; out: string }>((resolve, reject) => {
    let out = ""
    child.stdout!.on("data", (d) => {
      out += d
      const match = /listening on (http:\/\/\S+)/.exec(out)
      if (match && out.includes("try:")) resolve({ url: match[1]!, out })
    })
    child.once("exit", (code) => reject(new Error(`exited ${code}: ${out}`)))
  })

/** Waits for an emulator (`bedrock-embed-emulator` or `bedrock-embed emulator`) to print its URL. */
export const emulatorListening = (child: ChildProcess) =>
  new Promise<string>((resolve, reject) => {
    let out = ""
    child.stdout!.on("data", (d) => {
      out += d
      const match = /Bedrock emulator listening on (http:\/\/\S+)/.exec(out)
      if (match) resolve(match[1]!)
    })
    child.once("exit", (code) => reject(new Error(`exited ${code}: ${out}`)))
  })
