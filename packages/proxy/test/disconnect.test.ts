/**
 * A client that gives up takes its Bedrock calls with it: against an upstream that answers after
 * 3 s, clients that abort after 300 ms leave no call running. The upstream here is a plain
 * `node:http` server written for this test (not the emulator): it records every InvokeModel it
 * receives and whether the caller closed it before the answer.
 *
 * When the gateway sent each call is read on its own side (Node's `http.client.request.start`
 * diagnostics channel), not from when the upstream saw it: both run in this process, and on a busy
 * machine the upstream accepts a connection well after it was written (a call the gateway sent
 * before the client's close was noticed reaches the upstream later, already aborted).
 */
import * as DiagnosticsChannel from "node:diagnostics_channel"
import { once } from "node:events"
import * as Http from "node:http"
import type { AddressInfo } from "node:net"
import type { Config } from "@bedrock-embed/proxy"
import { Server } from "@bedrock-embed/proxy"
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"

interface Seen {
  readonly path: string
  aborted: boolean
  answered: boolean
}

const seen: Array<Seen> = []
/** When the gateway (the only `node:http` client here: `fetch` is undici) sent each call. */
const sent: Array<number> = []
const onSend = () => {
  sent.push(performance.now())
}
let upstream: Http.Server
let upstreamUrl: string

beforeAll(async () => {
  DiagnosticsChannel.subscribe("http.client.request.start", onSend)
  upstream = Http.createServer((req, res) => {
    const entry: Seen = { path: req.url ?? "", aborted: false, answered: false }
    seen.push(entry)
    req.resume()
    const timer = setTimeout(() => {
      entry.answered = true
      res.writeHead(200, { "content-type": "application/json" })
      res.end(JSON.stringify({ embedding: Array.from({ length: 256 }, (_, i) => i / 1000), inputTextTokenCount: 2 }))
    }, 3_000)
    res.on("close", () => {
      clearTimeout(timer)
      if (!entry.answered) entry.aborted = true
    })
  })
  upstream.listen(0, "127.0.0.1")
  await once(upstream, "listening")
  upstreamUrl = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`
})
afterAll(async () => {
  DiagnosticsChannel.unsubscribe("http.client.request.start", onSend)
  upstream.closeAllConnections()
  upstream.close()
})

const config = (): Config.Config => ({
  model_list: [
    {
      model_name: "titan",
      litellm_params: {
        model: "bedrock/amazon.titan-embed-text-v2:0",
        aws_region_name: "us-east-1",
        aws_bedrock_runtime_endpoint: upstreamUrl,
        aws_access_key_id: "AKIDEXAMPLE",
        aws_secret_access_key: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
      }
    }
  ]
})

const settle = async (done: () => boolean, ms: number) => {
  const until = Date.now() + ms
  while (!done() && Date.now() < until) await new Promise((resolve) => setTimeout(resolve, 20))
}

describe("client disconnects", () => {
  it("abort the Bedrock calls in flight and start none of the queued ones", async () => {
    const logs: Array<string> = []
    let lastLog = 0
    const gateway = await Server.start({
      config: config(),
      port: 0,
      log: (line) => {
        logs.push(line)
        lastLog = performance.now()
      }
    })
    try {
      const clients = 40
      const outcomes = await Promise.allSettled(
        Array.from({ length: clients }, (_, i) =>
          fetch(`${gateway.url}/v1/embeddings`, {
            method: "POST",
            headers: { "content-type": "application/json" },
            body: JSON.stringify({ model: "titan", input: [`text ${i}`], dimensions: 256 }),
            signal: AbortSignal.timeout(300)
          })
        )
      )
      assert.isTrue(
        outcomes.every((o) => o.status === "rejected"),
        "every client gave up before the 3 s upstream answered"
      )
      await settle(() => logs.length >= clients, 5_000)
      const closed = logs.map((line) => JSON.parse(line) as { status: number; error?: string })
      assert.strictEqual(closed.filter((l) => l.status === 499).length, clients, "each request logged as 499")
      assert.isAbove(sent.length, 0, "the gateway sent calls")
      // Requests that were still waiting for a permit never start a call later: none was sent
      // after the last client's close was logged, nor in the half second after.
      assert.isTrue(
        sent.every((at) => at <= lastLog),
        "every call was sent before the last client's close was logged"
      )
      const count = sent.length
      await new Promise((resolve) => setTimeout(resolve, 500))
      assert.strictEqual(sent.length, count, "no call sent after the clients left")
      // What reached the upstream (a call destroyed before it was written never does) has ended.
      await settle(() => seen.every((s) => s.aborted || s.answered), 2_000)
      assert.isAbove(seen.length, 0, "the calls reached the upstream")
      assert.isAtMost(seen.length, count, "the upstream saw only calls the gateway sent")
      assert.isTrue(
        seen.every((s) => s.path.startsWith("/model/amazon.titan-embed-text-v2")),
        "InvokeModel calls"
      )
      assert.strictEqual(seen.filter((s) => s.answered).length, 0, "no call ran to its end")
      assert.strictEqual(seen.filter((s) => s.aborted).length, seen.length, "every call in flight was aborted")
    } finally {
      await gateway.close()
    }
  })
})
