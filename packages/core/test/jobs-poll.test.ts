/**
 * The one poller waits through a throttled status call for a batch inference job too. The
 * control plane here is a plain `node:http` server written for this test (not the emulator): it
 * answers GetModelInvocationJob with a throttle first, then InProgress, then Completed.
 */
import { once } from "node:events"
import * as Http from "node:http"
import type { AddressInfo } from "node:net"
import { AwsCredentials, BedrockRuntime, Jobs, ObjectStore, Pricing, ProviderRegistry } from "@bedrock-embed/core"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer, Schedule } from "effect"

const jobArn = "arn:aws:bedrock:us-east-1:123456789012:model-invocation-job/abc123def456"

const job = (status: string) => ({
  jobArn,
  jobName: "bedrock-embed-test",
  modelId: "amazon.titan-embed-text-v2:0",
  roleArn: "arn:aws:iam::123456789012:role/BedrockBatch",
  status,
  submitTime: "2026-12-01T10:00:00Z",
  ...(status === "Completed" ? { endTime: "2026-12-01T10:05:00Z" } : {}),
  totalRecordCount: 100,
  processedRecordCount: status === "Completed" ? 100 : 40,
  errorRecordCount: status === "Completed" ? 2 : 0,
  inputDataConfig: { s3InputDataConfig: { s3Uri: "s3://bucket/jobs/input/" } },
  outputDataConfig: { s3OutputDataConfig: { s3Uri: "s3://bucket/jobs/output/" } }
})

/** Answers in turn: a throttle, InProgress, a 503, InProgress, Completed; records every path. */
const controlPlane = async () => {
  const paths: Array<string> = []
  const script = [429, "InProgress", 503, "InProgress", "Completed"] as const
  const server = Http.createServer((req, res) => {
    paths.push(`${req.method} ${req.url}`)
    req.resume()
    const step = script[Math.min(paths.length - 1, script.length - 1)]!
    if (typeof step === "number") {
      const type = step === 429 ? "ThrottlingException" : "ServiceUnavailableException"
      res.writeHead(step, { "content-type": "application/json", "x-amzn-errortype": type })
      res.end(
        JSON.stringify({
          message: step === 429 ? "Too many requests, please wait before trying again." : "Service unavailable"
        })
      )
      return
    }
    res.writeHead(200, { "content-type": "application/json", "x-amzn-requestid": `req-${paths.length}` })
    res.end(JSON.stringify(job(step)))
  })
  server.listen(0, "127.0.0.1")
  await once(server, "listening")
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, paths, close: () => server.close() }
}

const jobs = Jobs.layer.pipe(
  Layer.provide(
    Layer.mergeAll(ProviderRegistry.layer, BedrockRuntime.layer, ObjectStore.layer, AwsCredentials.layer, Pricing.layer)
  )
)

describe("awaiting a batch inference job", () => {
  it.live("survives a throttled and a 503 status call, and reports the records", () =>
    Effect.gen(function* () {
      const server = yield* Effect.acquireRelease(Effect.promise(controlPlane), (s) => Effect.sync(s.close))
      const service = yield* Jobs.Jobs
      const seen: Array<string> = []
      const final = yield* service.await(jobArn, {
        aws_bedrock_endpoint: server.url,
        aws_access_key_id: "AKIDEXAMPLE",
        aws_secret_access_key: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        schedule: Schedule.spaced("10 millis"),
        timeout: "30 seconds",
        onStatus: (status) => seen.push(status.metadata.bedrock_status)
      })
      assert.strictEqual(final.status, "completed")
      assert.deepStrictEqual(final.request_counts, { total: 100, completed: 98, failed: 2 })
      assert.strictEqual(final.metadata.output_file_id, "s3://bucket/jobs/output/abc123def456")
      assert.deepStrictEqual(
        seen,
        ["InProgress", "InProgress", "Completed"],
        "the failed calls were retried, not reported"
      )
      assert.strictEqual(server.paths.length, 5, "two retried status calls, three answered")
      assert.isTrue(
        server.paths.every((p) => p === `GET /model-invocation-job/${encodeURIComponent(jobArn)}`),
        server.paths[0]
      )
    }).pipe(Effect.scoped, Effect.provide(jobs))
  )
})
