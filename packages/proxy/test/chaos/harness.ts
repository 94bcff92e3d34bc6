/**
 * What the chaos cases run against: the fault stand-in, and the gateway as a CHILD process (the
 * `bedrock-embed serve` bin on a config naming the stand-in), so that a crash is seen as a dead
 * process instead of taking the runner with it. Secrets in the config are distinctive strings, so
 * a case can grep every answer for them.
 */
import { type ChildProcess, spawn } from "node:child_process"
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import * as Standin from "./standin.ts"

export const root = fileURLToPath(new URL("../../../..", import.meta.url))
const bin = join(root, "packages/proxy/src/bin.ts")

/** Distinctive secrets the config holds; none may reach a client. */
export const SECRETS = {
  masterKey: "sk-chaos-MASTER-7f3a9c1e5b",
  secretKey: "chaosSECRETkey/9Q2w8E7r6T5y4U3i2O1p0AbCdEf",
  accessKey: "AKIACHAOSACCESS0042",
  urlPassword: "chaosURLpass-5e6f7a8b"
}

/** Seconds each deployment gives a request (LiteLLM's `timeout`), and its retries. */
export const TIMEOUT_S = 2
export const NUM_RETRIES = 3
/** Retries of the `-steady` deployments, the ones the fault-fraction cases use. */
export const STEADY_RETRIES = 10

export interface Gateway {
  readonly url: string
  readonly pid: number
  readonly alive: () => boolean
  /** Resident set size in MB, from /proc (Linux); NaN elsewhere. */
  readonly rssMb: () => number
  /** Everything the process wrote to stdout and stderr. */
  readonly output: () => string
  readonly close: () => Promise<void>
}

const deployment = (alias: string, model: string, endpoint: string, extra: Record<string, unknown> = {}) => ({
  model_name: alias,
  litellm_params: {
    model: `bedrock/${model}`,
    aws_region_name: "us-east-1",
    aws_bedrock_runtime_endpoint: endpoint,
    aws_access_key_id: SECRETS.accessKey,
    aws_secret_access_key: SECRETS.secretKey,
    timeout: TIMEOUT_S,
    num_retries: NUM_RETRIES,
    ...extra
  }
})

/** A gateway config: `titan` and `cohere` on the stand-in, and variants of them (URL credentials, longer deadlines). */
export const configFor = (standinUrl: string, options: { readonly timeoutS?: number } = {}) => {
  const withUser = standinUrl.replace("http://", `http://chaosuser:${SECRETS.urlPassword}@`)
  const extra = options.timeoutS === undefined ? {} : { timeout: options.timeoutS }
  return {
    model_list: [
      deployment("titan", Standin.TITAN_V2, standinUrl, extra),
      deployment("cohere", Standin.COHERE_V3, standinUrl, extra),
      deployment("titan-userinfo", Standin.TITAN_V2, withUser, extra),
      // Time for every retry of a throttle, so what the client hears is the throttle, not the deadline.
      deployment("titan-patient", Standin.TITAN_V2, standinUrl, { timeout: 30, num_retries: 2 }),
      // Retries enough that a 30 % fault rate loses a call once in 10⁵ runs (0.3¹¹ per call).
      deployment("titan-steady", Standin.TITAN_V2, standinUrl, { timeout: 60, num_retries: STEADY_RETRIES }),
      deployment("cohere-steady", Standin.COHERE_V3, standinUrl, { timeout: 60, num_retries: STEADY_RETRIES })
    ],
    general_settings: { master_key: SECRETS.masterKey }
  }
}

const procStatus = (pid: number): string | undefined => {
  try {
    return readFileSync(`/proc/${pid}/status`, "utf8")
  } catch {
    return undefined
  }
}

/** Starts `bedrock-embed serve --config <file> --port 0` on this Node; resolves once it listens. */
export const startGateway = (config: unknown): Promise<Gateway> => {
  const dir = mkdtempSync(join(tmpdir(), "chaos-gateway-"))
  const file = join(dir, "config.yaml")
  // JSON is YAML: the config file is written without a YAML library.
  writeFileSync(file, JSON.stringify(config, null, 2))
  const child: ChildProcess = spawn(process.execPath, [bin, "serve", "--config", file, "--port", "0"], {
    cwd: root,
    stdio: ["ignore", "pipe", "pipe"]
  })
  let output = ""
  let exited = false
  child.once("exit", () => {
    exited = true
  })
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`gateway did not listen within 30 s:\n${output}`)), 30_000)
    const read = (chunk: Buffer) => {
      output += chunk.toString("utf8")
      const match = /gateway listening on (http:\/\/\S+)/.exec(output)
      if (match === null || child.pid === undefined) return
      clearTimeout(timer)
      const pid = child.pid
      resolve({
        url: match[1]!,
        pid,
        alive: () => !exited && !/^State:\s+Z/m.test(procStatus(pid) ?? "State: Z"),
        rssMb: () => Number(/^VmRSS:\s+(\d+)/m.exec(procStatus(pid) ?? "")?.[1] ?? Number.NaN) / 1024,
        output: () => output,
        close: async () => {
          if (!exited) {
            child.kill("SIGTERM")
            await new Promise((done) => {
              const force = setTimeout(() => child.kill("SIGKILL"), 5_000)
              child.once("exit", () => done(clearTimeout(force)))
            })
          }
          rmSync(dir, { recursive: true, force: true })
        }
      })
    }
    child.stdout!.on("data", read)
    child.stderr!.on("data", read)
    child.once("exit", (code, signal) => {
      clearTimeout(timer)
      reject(new Error(`gateway exited (${code ?? signal}) before listening:\n${output}`))
    })
  })
}

/** One answer of the gateway, read whole, with the time it took. */
export interface Answer {
  readonly status: number
  readonly headers: Headers
  readonly text: string
  readonly json: unknown
  readonly ms: number
}

/** POST /v1/embeddings with the master key; never throws for an HTTP status. */
export const embed = async (
  gatewayUrl: string,
  body: Record<string, unknown>,
  options: { readonly waitMs?: number; readonly key?: string } = {}
): Promise<Answer> => {
  const started = performance.now()
  const response = await fetch(`${gatewayUrl}/v1/embeddings`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${options.key ?? SECRETS.masterKey}` },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(options.waitMs ?? 30_000)
  })
  const text = await response.text()
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch {
    json = undefined
  }
  return { status: response.status, headers: response.headers, text, json, ms: performance.now() - started }
}

export const standinHost = (standinUrl: string) => new URL(standinUrl).host

/** Starts the stand-in, then a gateway on it. */
export const startAll = async (options: Standin.Options = {}) => {
  const standin = await Standin.start(options)
  const gateway = await startGateway(configFor(standin.url))
  return { standin, gateway }
}
