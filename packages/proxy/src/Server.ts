/**
 * Runs the gateway on Node's HTTP server (`@effect/platform-node`), with its own engine: one
 * Effect runtime serves every request, from the socket to the Bedrock call.
 *
 * @since 0.1.0
 */
import * as Http from "node:http"
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import { BedrockEmbed } from "bedrock-embed"
import { Layer, ManagedRuntime } from "effect"
import { HttpRouter, HttpServer } from "effect/http"
import type { Config } from "./Config.ts"
import { routes } from "./Gateway.ts"

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

/**
 * The gateway as a layer: the routes served on a Node HTTP server, over the engine and jobs
 * services. Launch it with `Layer.launch`; closing its scope closes the server and the clients.
 *
 * @category layers
 * @since 0.1.0
 */
export const layer = (options: Options) =>
  HttpRouter.serve(routes({ config: options.config, log: options.log }), {
    disableLogger: true,
    disableListenLog: true
  }).pipe(
    Layer.provideMerge(
      NodeHttpServer.layer(() => Http.createServer(), {
        port: options.port ?? 4000,
        host: options.host ?? "127.0.0.1"
      })
    ),
    Layer.provide(BedrockEmbed.layer(options.bedrock ?? {}))
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
