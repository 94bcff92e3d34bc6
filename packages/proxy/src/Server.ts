/**
 * Starts the gateway on Node's HTTP server (`@effect/platform-node`).
 *
 * @since 0.1.0
 */
import * as Http from "node:http"
import { NodeHttpServer } from "@effect/platform-node"
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
  /** The bedrock-embed client; one is made otherwise. */
  readonly client?: BedrockEmbed.Client | undefined
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
 * Starts the gateway and resolves once it listens.
 *
 * @category constructors
 * @since 0.1.0
 */
export const start = async (options: Options): Promise<Gateway> => {
  const client = options.client ?? BedrockEmbed.make()
  const app = Layer.provideMerge(
    HttpRouter.serve(routes({ config: options.config, client, log: options.log }), {
      disableLogger: true,
      disableListenLog: true
    }),
    NodeHttpServer.layer(() => Http.createServer(), { port: options.port ?? 4000, host: options.host ?? "127.0.0.1" })
  )
  const runtime = ManagedRuntime.make(app)
  const address = await runtime.runPromise(HttpServer.HttpServer.useSync((server) => server.address))
  const port = address._tag === "UnixPathAddress" ? 0 : address.port
  const host = options.host ?? "127.0.0.1"
  return {
    url: `http://${host.includes(":") ? `[${host}]` : host}:${port}`,
    port,
    close: async () => {
      await runtime.dispose()
      if (options.client === undefined) await client.dispose()
    }
  }
}
