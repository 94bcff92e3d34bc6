/**
 * `bedrock-embed serve`: the gateway, on a configuration or on the embedded emulator.
 *
 * @internal
 */
import { dirname, join } from "node:path"
import type { Emulator } from "@bedrock-embed/emulator"
import { Console, Effect, Option } from "effect"
import { Command, Flag } from "effect/cli"
import * as Config from "../../Config.ts"
import { defaults } from "../../Gateway.ts"
import * as Server from "../../Server.ts"
import * as Cache from "../cache.ts"
import { databaseFile } from "../team/team.ts"
import { failure, lines, loadEmulator, messageOf, numberFlag, text } from "./shared.ts"

// serve

/** The embedded emulator, closed with the scope, and a configuration naming every model on it. */
const embedded = Effect.gen(function* () {
  const { startEmulator, EMULATOR_CREDENTIALS } = yield* loadEmulator("serve without --config")
  const emulator = yield* Effect.acquireRelease(
    Effect.tryPromise({
      try: () => startEmulator(),
      catch: (cause) => failure(`cannot start the embedded emulator: ${messageOf(cause)}`)
    }),
    (emulator) => Effect.promise(() => emulator.close())
  )
  const config = Config.everyModel({
    aws_region_name: emulator.region,
    aws_bedrock_runtime_endpoint: emulator.url,
    aws_s3_endpoint: emulator.s3Url,
    aws_access_key_id: EMULATOR_CREDENTIALS.accessKeyId,
    aws_secret_access_key: EMULATOR_CREDENTIALS.secretAccessKey
  })
  return { config, emulator: Option.some<Emulator>(emulator), key: undefined }
})

const configured = (file: string) =>
  Config.loadWithSource(file).pipe(
    Effect.mapError((error) => failure(`invalid configuration: ${error.message}`)),
    Effect.map(({ config, source }) => ({
      config,
      emulator: Option.none<Emulator>(),
      key: masterKeyShown(config, source)
    }))
  )

/**
 * How the banner writes the master key in its `curl`, never as the secret itself: `$NAME` when
 * the file reads it from `os.environ/NAME` (the shell fills it in), else a placeholder. The loaded
 * config holds the resolved secret; its spelling is in the parsed source.
 */
const masterKeyShown = (config: Config.Config, source: unknown): string | undefined => {
  if (config.general_settings?.master_key === undefined) return undefined
  const spelled = (source as { general_settings?: { master_key?: unknown } } | null)?.general_settings?.master_key
  const name = typeof spelled === "string" ? spelled.replace(/^os\.environ\//, "") : ""
  return typeof spelled === "string" && spelled !== name && /^[A-Za-z_][A-Za-z0-9_]*$/.test(name)
    ? `$${name}`
    : keyPlaceholder
}

const keyPlaceholder = "<your master_key>"

/** The first Node system error (`EADDRINUSE` …) in a chain of causes: the server's error wraps it. */
const systemError = (cause: unknown): { readonly code: string; readonly message: string } | undefined => {
  for (let at = cause, depth = 0; typeof at === "object" && at !== null && depth < 8; depth++) {
    const { code, message } = at as { readonly code?: unknown; readonly message?: unknown }
    if (typeof code === "string" && typeof message === "string" && message !== "") return { code, message }
    at = (at as { readonly cause?: unknown }).cause
  }
  return undefined
}

/** Why the gateway cannot listen, and what to change: the reason is in the cause, not the wrapper. */
export const listenFailure = (host: string, port: number, cause: unknown): string => {
  const system = systemError(cause)
  // Not a socket's error (the key database, Redis): the gateway did not start, for that reason.
  if (system === undefined) {
    const message = messageOf(cause)
    return `cannot start the gateway: ${message === "" ? "no reason given" : message}`
  }
  const reason = (() => {
    switch (system?.code) {
      case "EADDRINUSE":
        return `port ${port} is already in use (EADDRINUSE): stop what listens there, or pick another --port (--port 0 picks a free one)`
      case "EACCES":
        return `permission denied (EACCES): ports below 1024 need privileges; pick --port 1024 or above (--port 0 picks a free one)`
      case "EADDRNOTAVAIL":
        return `${host} is not an address of this machine (EADDRNOTAVAIL): pass --host 127.0.0.1, 0.0.0.0 (every interface) or one of its addresses`
      case "ENOTFOUND":
      case "EAI_AGAIN":
        return `host ${host} cannot be resolved (${system.code}): pass --host an IP address or a name this machine resolves`
      default: {
        const message = system?.message ?? messageOf(cause)
        return message === "" ? "the server failed to start (no reason given)" : message
      }
    }
  })()
  return `cannot listen on ${host}:${port}: ${reason}`
}

const megabytes = (bytes: number) => `${Math.round(bytes / 100_000) / 10} MB`

/** The admission bounds and body limits in force (general_settings, else the defaults). */
const limitsLine = (config: Config.Config): string => {
  const s = config.general_settings
  const body = s?.max_request_body_bytes ?? defaults.max_request_body_bytes
  const bytes = Math.max(body, s?.max_request_bytes_in_flight ?? defaults.max_request_bytes_in_flight)
  return (
    `  limits: bodies up to ${megabytes(body)}, within ${s?.request_body_timeout ?? defaults.request_body_timeout} s; ` +
    `${s?.max_in_flight_requests_per_worker ?? defaults.max_in_flight_requests_per_worker} requests and ` +
    `${megabytes(bytes)} of bodies in flight (429 beyond)`
  )
}

const serveBanner = (options: {
  readonly url: string
  readonly config: Config.Config
  readonly file: Option.Option<string>
  readonly emulator: Option.Option<Emulator>
  readonly key: string | undefined
}): string => {
  const aliases = [...new Set(options.config.model_list.map((d) => d.model_name))]
  const source = Option.match(options.emulator, {
    onSome: (emulator) =>
      `  no --config: serving the EMBEDDED BEDROCK EMULATOR at ${emulator.url} (not AWS) with every model:`,
    onNone: () =>
      `  config: ${Option.getOrElse(options.file, () => "")} (${aliases.length} model${aliases.length === 1 ? "" : "s"})`
  })
  const auth =
    options.key === undefined
      ? "none (no master_key)"
      : `Authorization: Bearer ${options.key} (general_settings.master_key)`
  const header = options.key === undefined ? "" : ` -H "Authorization: Bearer ${options.key}"`
  const cache = Cache.describe(options.config)
  return [
    `bedrock-embed gateway listening on ${options.url}`,
    source,
    ...aliases.map((alias) => `    ${alias}`),
    `  auth: ${auth}`,
    ...(options.key === undefined ? [] : [`  dashboard: ${options.url}/ui (the master key)`]),
    ...(cache === undefined ? [] : [`  cache: ${cache}`]),
    limitsLine(options.config),
    options.config.litellm_settings?.drop_params === true
      ? "  unsupported params: dropped (litellm_settings.drop_params: true)"
      : "  unsupported params: refused with 400 (a config's litellm_settings.drop_params: true drops them)",
    `  try: curl -s ${options.url}/v1/embeddings -H 'content-type: application/json'${header} -d '{"model":"${aliases[0]}","input":["hello"]}'`
  ].join("\n")
}

const serveFlags = {
  config: text(
    "config",
    "FILE",
    "a LiteLLM-style config.yaml; without it, the embedded Bedrock emulator serves every model under its own id"
  ).pipe(Flag.withAlias("c")),
  port: numberFlag("port", {
    min: 0,
    max: 65535,
    integer: true,
    description: "port to listen on (default 4000; 0 picks a free port)"
  }).pipe(Flag.withAlias("p")),
  host: Flag.String("host").pipe(
    Flag.withMetavar("HOST"),
    Flag.withDefault("127.0.0.1"),
    Flag.withDescription("address to bind (default 127.0.0.1)")
  )
}

/**
 * A disk cache (the default type) with no `disk_cache_dir` keeps its file next to the config file, as the key
 * database does (in the working directory without one).
 */
const withCacheDir = (config: Config.Config, file: Option.Option<string>): Config.Config => {
  const settings = config.litellm_settings
  const params = settings?.cache_params
  if (Option.isNone(file) || Cache.configured(config)?.type !== "disk" || params?.disk_cache_dir !== undefined) {
    return config
  }
  const disk_cache_dir = join(dirname(file.value), Cache.DEFAULT_DISK_DIR)
  return { ...config, litellm_settings: { ...settings, cache_params: { ...params, disk_cache_dir } } }
}

/** Serves until interrupted; the gateway closes first (finishing requests in flight), then the emulator. */
const serveHandler = (flags: Command.Command.Config.Infer<typeof serveFlags>) =>
  Effect.scoped(
    Effect.gen(function* () {
      const port = Option.getOrElse(flags.port, () => 4000)
      const { host } = flags
      const { config, emulator, key } = yield* Option.match(flags.config, {
        onNone: () => embedded,
        onSome: configured
      })
      // A key database it cannot use is the configuration's fault, not the listener's.
      const database =
        config.general_settings?.master_key === undefined ? {} : databaseFile(config, process.env.DATABASE_URL, "")
      if ("error" in database) return yield* Effect.fail(failure(`invalid configuration: ${database.error}`))
      const served = withCacheDir(config, flags.config)
      const gateway = yield* Effect.acquireRelease(
        Effect.tryPromise({
          try: () =>
            Server.start({
              config: served,
              port,
              host,
              // Virtual keys and spend (with a master_key) persist next to the config by default.
              database: Option.getOrUndefined(
                Option.map(flags.config, (file) => join(dirname(file), "bedrock-embed.db"))
              )
            }),
          // A bad `OTEL_*` variable is the environment's fault, not the listener's.
          catch: (cause) =>
            failure(
              cause instanceof Config.ConfigError
                ? `invalid configuration: ${cause.message}`
                : listenFailure(host, port, cause)
            )
        }),
        (gateway) => Effect.promise(() => gateway.close())
      )
      yield* Console.log(serveBanner({ url: gateway.url, config: served, file: flags.config, emulator, key }))
      return yield* Effect.never
    })
  )

export const serve = Command.make("serve", serveFlags, serveHandler).pipe(
  Command.withShortDescription("An OpenAI-compatible embeddings gateway (POST /v1/embeddings)"),
  Command.withDescription(
    lines(
      "An OpenAI-compatible embeddings gateway (POST /v1/embeddings). Without --config it runs",
      "on an embedded Bedrock emulator with every model configured under its own id.",
      "Runs until SIGINT or SIGTERM, then finishes the requests in flight and exits 0."
    )
  ),
  Command.withExamples([
    { command: "bedrock-embed serve", description: "every model, on the embedded emulator (not AWS)" },
    { command: "bedrock-embed serve --config config.yaml --port 4000", description: "the models config.yaml names" }
  ])
)
