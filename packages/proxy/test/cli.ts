/** Shared helpers of the CLI tests: run `bedrock-embed`, collect its output, wait for it to listen. */
import { type ChildProcess, spawn } from "node:child_process"
import { once } from "node:events"
import { fileURLToPath } from "node:url"
import { EMULATOR_CREDENTIALS } from "@bedrock-embed/emulator"

const root = fileURLToPath(new URL("../../../", import.meta.url))

/** Spawns the CLI with the emulator's identity in the environment (and nothing else of AWS's). */
export const bedrockEmbed = (args: ReadonlyArray<string>, env: Record<string, string> = {}): ChildProcess =>
  spawn(process.execPath, [`${root}packages/proxy/src/bin.ts`, ...args], {
    stdio: ["ignore", "pipe", "pipe"],
    env: {
      ...process.env,
      AWS_ACCESS_KEY_ID: EMULATOR_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: EMULATOR_CREDENTIALS.secretAccessKey,
      AWS_PROFILE: "",
      ...env
    }
  })

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
