/**
 * Runs the gateway on Node's HTTP server (`@effect/platform-node`), with its own engine: one
 * Effect runtime serves every request, from the socket to the Bedrock call.
 *
 * @since 0.1.0
 */
import * as Http from "node:http"
import type { Duplex } from "node:stream"
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import { BedrockEmbed } from "bedrock-embed"
import { Layer, ManagedRuntime } from "effect"
import { HttpRouter, HttpServer } from "effect/http"
import type { Config } from "./Config.ts"
import { defaults, routes } from "./Gateway.ts"
import * as Tracing from "./internal/tracing.ts"

/**
 * Server options.
 *
 * @category models
 * @since 0.1.0
 */
export interface Options {
  readonly config: Config
  /** Port; 0 picks a free one. Default 4000. */
  readonly port?: number | undefined
  /** Address to bind; default 127.0.0.1. */
  readonly host?: string | undefined
  /** The engine's options: concurrency, retries, transport, prices. */
  readonly bedrock?: BedrockEmbed.Options | undefined
  /** Where request log lines go; default stdout. */
  readonly log?: ((line: string) => void) | undefined
  /** The SQLite file for virtual keys and spend (see `Gateway.Options.database`). */
  readonly database?: string | undefined
  /** Where the `OTEL_*` variables (traces over OTLP) are read from; default the process environment. */
  readonly telemetryEnv?: Readonly<Record<string, string | undefined>> | undefined
}

/**
 * A running gateway.
 *
 * @category models
 * @since 0.1.0
 */
export interface Gateway {
  readonly url: string
  readonly port: number
  readonly close: () => Promise<void>
}

// Node's own bound on receiving a request's headers (its default).
const headersTimeoutMs = 60_000

const rawError = (status: number, reason: string, code: string, message: string) => {
  const body = JSON.stringify({ error: { message, type: "invalid_request_error", code, param: null } })
  return `HTTP/1.1 ${status} ${reason}\r\nconnection: close\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`
}

/**
 * What Node answers itself, before a request reaches the gateway (headers too slow, too large or
 * malformed; a request past its deadline), in OpenAI's error shape rather than Node's bare status.
 */
const onClientError = (error: NodeJS.ErrnoException, socket: Duplex) => {
  // Node's rule: answer only when no response has started on the connection.
  const response = (socket as { _httpMessage?: { headersSent?: boolean } })._httpMessage
  if (!socket.writable || response?.headersSent === true) return socket.destroy()
  socket.end(
    error.code === "ERR_HTTP_REQUEST_TIMEOUT"
      ? rawError(408, "Request Timeout", "request_timeout", "The request did not arrive in time.")
      : error.code === "HPE_HEADER_OVERFLOW"
        ? rawError(431, "Request Header Fields Too Large", "headers_too_large", "The request headers are too large.")
        : rawError(400, "Bad Request", "invalid_request", "The request is not valid HTTP.")
  )
  // A client that never reads the answer does not keep the socket.
  setTimeout(() => socket.destroy(), 1_000).unref()
}

/**
 * A Node HTTP server whose own deadline on receiving a request (headers, then the body within
 * `request_body_timeout`) backs up the gateway's: it also covers bodies the gateway does not read
 * (a refused request's), which Node would otherwise drain for as long as the client trickles them.
 */
const createServer = (config: Config) => () => {
  const bodySeconds = config.general_settings?.request_body_timeout ?? defaults.request_body_timeout
  const server = Http.createServer({
    headersTimeout: headersTimeoutMs,
    requestTimeout: headersTimeoutMs + Math.ceil(bodySeconds * 1000),
    connectionsCheckingInterval: 1_000
  })
  server.on("clientError", onClientError)
  return server
}

/**
 * The gateway as a layer: the routes served on a Node HTTP server, over the engine and jobs
 * services. Launch it with `Layer.launch`; closing its scope closes the server and the clients.
 *
 * @category layers
 * @since 0.1.0
 */
export const layer = (options: Options) =>
  HttpRouter.serve(routes({ config: options.config, log: options.log, database: options.database }), {
    disableLogger: true,
    disableListenLog: true
  }).pipe(
    Layer.provideMerge(
      NodeHttpServer.layer(createServer(options.config), {
        port: options.port ?? 4000,
        host: options.host ?? "127.0.0.1"
      })
    ),
    Layer.provide(BedrockEmbed.layer(options.bedrock ?? {})),
    // Outermost: built first, closed last, so the spans of requests in flight at close are sent.
    Layer.provide(Tracing.layer(options.telemetryEnv))
  )

/**
 * Starts the gateway and resolves once it listens.
 *
 * @category constructors
 * @since 0.1.0
 */
export const start = async (options: Options): Promise<Gateway> => {
  const runtime = ManagedRuntime.make(layer(options))
  const address = await runtime.runPromise(HttpServer.HttpServer.useSync((server) => server.address))
  const port = address._tag === "UnixPathAddress" ? 0 : address.port
  const host = options.host ?? "127.0.0.1"
  return {
    url: `http://${host.includes(":") ? `[${host}]` : host}:${port}`,
    port,
    close: () => runtime.dispose()
  }
}
