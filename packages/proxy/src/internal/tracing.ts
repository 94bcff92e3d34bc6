/**
 * The gateway's traces over OTLP/HTTP, on `effect/observability`'s `OtlpTracer`, switched on by
 * OpenTelemetry's own variables:
 *
 * - `OTEL_EXPORTER_OTLP_ENDPOINT`: the collector's base URL (traces go to `<base>/v1/traces`);
 *   `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`, a full URL, wins. Neither set: no tracer at all.
 * - `OTEL_EXPORTER_OTLP_HEADERS` / `OTEL_EXPORTER_OTLP_TRACES_HEADERS`: `name=value,…`, values
 *   percent-decoded (a vendor's API key goes here).
 * - `OTEL_EXPORTER_OTLP_PROTOCOL` / `…_TRACES_PROTOCOL`: `http/protobuf` (default) or `http/json`.
 * - `OTEL_EXPORTER_OTLP_COMPRESSION` / `…_TRACES_COMPRESSION`: `gzip` or `none` (default).
 * - `OTEL_SERVICE_NAME` (default `bedrock-embed-gateway`), `OTEL_RESOURCE_ATTRIBUTES`.
 * - `OTEL_BSP_SCHEDULE_DELAY`: milliseconds between exports (default 5000).
 * - `OTEL_SDK_DISABLED=true` or `OTEL_TRACES_EXPORTER=none`: off.
 *
 * Spans hold no secret and no input text: effect/http records no header unless asked (none is),
 * every query parameter's value is redacted (`/key/info?key=sk-…` carries a virtual key), and a
 * failed span's exception event names the error's tag, never its message (an input-validation
 * message may quote the input). Buffered spans are sent when the layer's scope closes
 * (`gateway.close()`, SIGTERM), within 3 s.
 *
 * @internal
 */
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import { Cause, ConfigProvider, Duration, Config as EffectConfig, Effect, Exit, Layer, Option, Tracer } from "effect"
import { UrlParams } from "effect/http"
import { OtlpExporter, OtlpSerialization, OtlpTracer } from "effect/observability"
import { ConfigError } from "../Config.ts"

/**
 * The service name when neither `OTEL_SERVICE_NAME` nor `OTEL_RESOURCE_ATTRIBUTES` gives one.
 *
 * @since 0.1.0
 * @category config
 */
export const defaultServiceName = "bedrock-embed-gateway"

/**
 * Where and how spans are exported.
 *
 * @since 0.1.0
 * @category models
 */
export interface Settings {
  readonly url: string
  readonly headers: Readonly<Record<string, string>>
  readonly protocol: "http/protobuf" | "http/json"
  readonly compression: "gzip" | "none"
  readonly exportIntervalMs: number | undefined
  /** `undefined`: the environment names the service (`OTEL_SERVICE_NAME` or a resource attribute). */
  readonly serviceName: string | undefined
}

const envVar = (name: string) =>
  EffectConfig.option(EffectConfig.String(name)).pipe(
    Effect.map((value) => Option.getOrUndefined(value)?.trim() || undefined),
    Effect.orElseSucceed(() => undefined)
  )

/** The signal-specific variable, else the general one, with the name it was read from. */
const either = Effect.fnUntraced(function* (general: string) {
  const specific = general.replace("OTEL_EXPORTER_OTLP_", "OTEL_EXPORTER_OTLP_TRACES_")
  const value = yield* envVar(specific)
  return value === undefined ? { name: general, value: yield* envVar(general) } : { name: specific, value }
})

const invalid = (path: string, message: string) => Effect.fail(new ConfigError({ message: `${path} ${message}`, path }))

/** The traces URL; the value is never echoed (a URL may hold credentials). */
const endpoint = Effect.fnUntraced(function* () {
  const full = yield* envVar("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
  const base = full === undefined ? yield* envVar("OTEL_EXPORTER_OTLP_ENDPOINT") : undefined
  const name = full === undefined ? "OTEL_EXPORTER_OTLP_ENDPOINT" : "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"
  const raw = full ?? base
  if (raw === undefined) return undefined
  const url = URL.parse(raw)
  if (url === null || (url.protocol !== "http:" && url.protocol !== "https:"))
    return yield* invalid(name, "is not an http(s) URL; set it to the collector's URL, e.g. http://localhost:4318")
  if (full === undefined) url.pathname = `${url.pathname.replace(/\/$/, "")}/v1/traces`
  return url.toString()
})

/** `name=value,…` with percent-encoded values (OpenTelemetry's format); values never echoed. */
const headers = Effect.fnUntraced(function* () {
  const { name, value } = yield* either("OTEL_EXPORTER_OTLP_HEADERS")
  const out: Record<string, string> = {}
  for (const [index, entry] of (value ?? "").split(",").entries()) {
    if (entry.trim() === "") continue
    const at = entry.indexOf("=")
    const key = entry.slice(0, at).trim()
    const decoded = at <= 0 ? undefined : decodeOrUndefined(entry.slice(at + 1).trim())
    if (key === "" || decoded === undefined)
      return yield* invalid(
        name,
        `entry ${index + 1} is not name=value (values percent-encoded); write e.g. x-api-key=…`
      )
    out[key] = decoded
  }
  return out
})

const decodeOrUndefined = (value: string) => {
  try {
    return decodeURIComponent(value)
  } catch {
    return undefined
  }
}

const oneOf = Effect.fnUntraced(function* <const A extends string>(
  general: string,
  allowed: ReadonlyArray<A>,
  hint = ""
) {
  const { name, value } = yield* either(general)
  if (value === undefined) return allowed[0]!
  const found = allowed.find((a) => a === value.toLowerCase())
  return found ?? (yield* invalid(name, `must be ${allowed.join(" or ")}; got ${JSON.stringify(value)}${hint}`))
})

const milliseconds = Effect.fnUntraced(function* (name: string) {
  const value = yield* envVar(name)
  if (value === undefined) return undefined
  return /^\d+$/.test(value) && Number(value) > 0
    ? Number(value)
    : yield* invalid(name, `must be a whole number of milliseconds above 0; got ${JSON.stringify(value)}`)
})

const serviceName = Effect.gen(function* () {
  if ((yield* envVar("OTEL_SERVICE_NAME")) !== undefined) return undefined
  const resource = (yield* envVar("OTEL_RESOURCE_ATTRIBUTES")) ?? ""
  return /(^|,)\s*service\.name\s*=/.test(resource) ? undefined : defaultServiceName
})

const disabled = Effect.gen(function* () {
  const sdk = (yield* envVar("OTEL_SDK_DISABLED"))?.toLowerCase() === "true"
  const exporters = ((yield* envVar("OTEL_TRACES_EXPORTER")) ?? "otlp").toLowerCase().split(",")
  return sdk || !exporters.some((e) => e.trim() === "otlp")
})

/**
 * The export settings from the environment, or `undefined` when tracing is off.
 *
 * @since 0.1.0
 * @category config
 */
export const settings: Effect.Effect<Settings | undefined, ConfigError> = Effect.gen(function* () {
  if (yield* disabled) return undefined
  const url = yield* endpoint()
  if (url === undefined) return undefined
  return {
    url,
    headers: yield* headers(),
    protocol: yield* oneOf(
      "OTEL_EXPORTER_OTLP_PROTOCOL",
      ["http/protobuf", "http/json"] as const,
      " (gRPC is not supported: use the collector's OTLP/HTTP port, 4318)"
    ),
    compression: yield* oneOf("OTEL_EXPORTER_OTLP_COMPRESSION", ["none", "gzip"] as const),
    serviceName: yield* serviceName,
    exportIntervalMs: yield* milliseconds("OTEL_BSP_SCHEDULE_DELAY")
  }
})

/** What a failed span tells: the error's tag (and AWS request id), not its message. */
class SpanFailure extends Error {
  constructor(name: string, message: string) {
    super(message)
    this.name = name
    this.stack = `${name}: ${message}`
  }
}

const failureOf = (cause: Cause.Cause<unknown>): SpanFailure => {
  const error = Cause.squash(cause)
  const tag =
    typeof error === "object" && error !== null && "_tag" in error && typeof error._tag === "string"
      ? error._tag
      : error instanceof Error
        ? error.name
        : "Defect"
  const requestId = (error as { readonly requestId?: unknown } | null)?.requestId
  return new SpanFailure(tag, typeof requestId === "string" ? `${tag} (AWS request id ${requestId})` : tag)
}

const safeExit = (exit: Exit.Exit<unknown, unknown>): Exit.Exit<unknown, unknown> =>
  Exit.isSuccess(exit) || Cause.hasInterruptsOnly(exit.cause) ? exit : Exit.failCause(Cause.fail(failureOf(exit.cause)))

/**
 * The exporting tracer, with each span's failure reduced to its tag, log events without their
 * cause, and a server span named `<method> <route>` once the router knows the route (effect/http
 * names it by the method alone, before routing).
 */
const guarded = (tracer: Tracer.Tracer): Tracer.Tracer =>
  Tracer.make({
    ...tracer,
    span(options) {
      const span = tracer.span(options)
      const { end, attribute, event } = span
      span.end = (endTime, exit) => end.call(span, endTime, safeExit(exit))
      span.event = (name, startTime, attributes) => {
        if (attributes === undefined || !("effect.cause" in attributes))
          return event.call(span, name, startTime, attributes)
        const { "effect.cause": _, ...rest } = attributes
        event.call(span, name, startTime, rest)
      }
      if (span.kind === "server") {
        const method = span.name
        span.attribute = (key, value) => {
          // The exporter reads the name when the span ends.
          if (key === "http.route") (span as { name: string }).name = `${method} ${String(value)}`
          attribute.call(span, key, value)
        }
      }
      return span
    }
  })

const exporter = (settings: Settings) =>
  Layer.effect(Tracer.Tracer)(
    Effect.map(
      OtlpTracer.make({
        url: settings.url,
        headers: settings.headers,
        compression: settings.compression,
        exportInterval:
          settings.exportIntervalMs === undefined ? undefined : Duration.millis(settings.exportIntervalMs),
        resource: { serviceName: settings.serviceName }
      }),
      guarded
    )
  ).pipe(
    Layer.provideMerge(OtlpExporter.layerFlusher),
    Layer.provide(settings.protocol === "http/json" ? OtlpSerialization.layerJson : OtlpSerialization.layerProtobuf),
    Layer.provide(NodeHttpClient.layerNodeHttp)
  )

/** Every query parameter's value, whatever its name: the gateway's admin routes take keys there. */
const redactQueries = Layer.succeed(UrlParams.CurrentRedactedNames)([/(?:)/])

/**
 * The tracer for the gateway's requests and engine, from the `OTEL_*` variables in `env` (default:
 * the current `ConfigProvider`, the process environment): nothing when tracing is off. Its scope's
 * close sends the spans still buffered.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (env?: Readonly<Record<string, string | undefined>>) =>
  Layer.unwrap(
    Effect.map(settings, (found) => (found === undefined ? Layer.empty : Layer.merge(exporter(found), redactQueries)))
  ).pipe(
    // The exporter reads `OTEL_RESOURCE_ATTRIBUTES` itself: from the same place.
    Layer.provide(env === undefined ? Layer.empty : ConfigProvider.layer(ConfigProvider.fromEnvRecord({ ...env })))
  )
