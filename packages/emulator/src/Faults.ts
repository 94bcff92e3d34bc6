/** Fault injection: latency, throttling above a rate, a ratio of 5xx, and a scripted queue. */
import type { BedrockFault } from "./Errors.ts"

/** Fault rates, set by options, environment or at run time. */
export interface FaultOptions {
  /** Milliseconds added to every InvokeModel call. */
  readonly latencyMs?: number | undefined
  /** Requests per second above which calls get ThrottlingException (sliding 1 s window); 0 = off. */
  readonly throttleRps?: number | undefined
  /** Ratio (0–1) of calls answered with a 5xx. */
  readonly errorRate?: number | undefined
  /** Seed of the generator that picks which calls fail. */
  readonly seed?: number | undefined
}

/** The Bedrock Runtime operations a scripted fault can answer. */
export type Operation = "InvokeModel" | "StartAsyncInvoke" | "GetAsyncInvoke" | "ListAsyncInvokes"

/** A scripted fault for the next call. */
export type ScriptedFault = BedrockFault & {
  /** Retry-After seconds to send with a throttle. */
  readonly retryAfterSeconds?: number | undefined
  /** The operation whose next call gets the fault; default InvokeModel. */
  readonly operation?: Operation | undefined
}

/** Fault settings from `BEDROCK_EMULATOR_*` environment variables. */
export const fromEnv = (env: NodeJS.ProcessEnv = process.env): FaultOptions => {
  const num = (name: string) => (env[name] === undefined || env[name] === "" ? undefined : Number(env[name]))
  return {
    latencyMs: num("BEDROCK_EMULATOR_LATENCY_MS"),
    throttleRps: num("BEDROCK_EMULATOR_THROTTLE_RPS"),
    errorRate: num("BEDROCK_EMULATOR_ERROR_RATE"),
    seed: num("BEDROCK_EMULATOR_SEED")
  }
}

/** Mulberry32: a tiny seeded generator, so fault patterns repeat run to run. */
const generator = (seed: number) => {
  let state = seed >>> 0
  return () => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** Live fault state. */
export class Faults {
  latencyMs = 0
  throttleRps = 0
  errorRate = 0
  private random: () => number = generator(1)
  private readonly queue: Array<ScriptedFault> = []
  private window: Array<number> = []
  private windowStart = 0

  constructor(options: FaultOptions) {
    this.set(options)
  }

  set(options: FaultOptions): void {
    if (options.latencyMs !== undefined) this.latencyMs = Math.max(0, options.latencyMs)
    if (options.throttleRps !== undefined) this.throttleRps = Math.max(0, options.throttleRps)
    if (options.errorRate !== undefined) this.errorRate = Math.min(1, Math.max(0, options.errorRate))
    if (options.seed !== undefined) this.random = generator(options.seed)
  }

  inject(faults: ReadonlyArray<ScriptedFault>): void {
    this.queue.push(...faults)
  }

  /**
   * The fault for the next call, if any: scripted first, then (for InvokeModel, the operation
   * rates are about) the rate limit, then the error ratio.
   */
  next(now: number, operation: Operation = "InvokeModel"): ScriptedFault | undefined {
    const index = this.queue.findIndex((fault) => (fault.operation ?? "InvokeModel") === operation)
    if (index >= 0) return this.queue.splice(index, 1)[0]
    if (operation !== "InvokeModel") return undefined
    if (this.throttleRps > 0) {
      // Timestamps of admitted calls in the last second, oldest first.
      while (this.windowStart < this.window.length && this.window[this.windowStart]! <= now - 1000) this.windowStart++
      if (this.windowStart > 1024) {
        this.window = this.window.slice(this.windowStart)
        this.windowStart = 0
      }
      if (this.window.length - this.windowStart >= this.throttleRps) return { error: "ThrottlingException" }
      this.window.push(now)
    }
    if (this.errorRate > 0 && this.random() < this.errorRate) {
      return { error: this.random() < 0.5 ? "ServiceUnavailableException" : "InternalServerException" }
    }
    return undefined
  }
}
