/**
 * Every exception the official SDK declares for InvokeModel and the async operations comes back
 * from the emulator as that class, with the status of bedrock-wire.md §2.1.
 */
import { readFileSync } from "node:fs"
import { createRequire } from "node:module"
import { dirname, join } from "node:path"
import * as Runtime from "@aws-sdk/client-bedrock-runtime"
import type { Operation } from "@bedrock-embed/emulator"
import { assert, describe, it } from "vitest"
import { useEmulator } from "./sdk.ts"

// One attempt: the SDK retries throttles and 5xx by default, and the test wants the first answer.
const { client, emulator } = useEmulator({ asyncDelayMs: Number.POSITIVE_INFINITY, client: { maxAttempts: 1 } })

/** bedrock-wire.md §2.1: the HTTP status of each error shape. */
const statuses: Readonly<Record<string, number>> = {
  ValidationException: 400,
  ServiceQuotaExceededException: 400,
  ConflictException: 400,
  AccessDeniedException: 403,
  ResourceNotFoundException: 404,
  ModelTimeoutException: 408,
  ModelErrorException: 424,
  ThrottlingException: 429,
  ModelNotReadyException: 429,
  InternalServerException: 500,
  ServiceUnavailableException: 503
}

type ErrorClass = new (...args: never) => Runtime.BedrockRuntimeServiceException

/** The SDK's exported exception classes. */
const exported: ReadonlyArray<readonly [string, ErrorClass]> = Object.entries(Runtime as Record<string, unknown>)
  .filter(
    ([, value]) => typeof value === "function" && value.prototype instanceof Runtime.BedrockRuntimeServiceException
  )
  .map(([name, value]) => [name, value as ErrorClass] as const)

/** The exceptions a command declares, read from the SDK's own `@throws` list. */
const declared = (operation: Operation): ReadonlyArray<string> => {
  const entry = createRequire(import.meta.url).resolve("@aws-sdk/client-bedrock-runtime")
  const types = join(dirname(entry), "..", "dist-types", "commands", `${operation}Command.d.ts`)
  return [...readFileSync(types, "utf8").matchAll(/@throws \{@link (\w+)\}/g)]
    .map((m) => m[1]!)
    .filter((name) => name !== "BedrockRuntimeServiceException")
}

const calls: Readonly<Record<Operation, () => Promise<unknown>>> = {
  InvokeModel: () =>
    client().send(
      new Runtime.InvokeModelCommand({
        modelId: "amazon.titan-embed-text-v2:0",
        contentType: "application/json",
        body: JSON.stringify({ inputText: "x" })
      })
    ),
  StartAsyncInvoke: () =>
    client().send(
      new Runtime.StartAsyncInvokeCommand({
        modelId: "amazon.nova-2-multimodal-embeddings-v1:0",
        modelInput: {
          taskType: "SEGMENTED_EMBEDDING",
          segmentedEmbeddingParams: {
            embeddingPurpose: "GENERIC_INDEX",
            text: { truncationMode: "END", source: { s3Location: { uri: "s3://in/a.txt" } } }
          }
        },
        outputDataConfig: { s3OutputDataConfig: { s3Uri: "s3://out/errors/" } }
      })
    ),
  GetAsyncInvoke: () =>
    client().send(
      new Runtime.GetAsyncInvokeCommand({
        invocationArn: "arn:aws:bedrock:us-east-1:123456789012:async-invoke/abcdef123456"
      })
    ),
  ListAsyncInvokes: () => client().send(new Runtime.ListAsyncInvokesCommand({}))
}

describe("error classes through the official SDK", () => {
  it("the operations together declare every exported exception but the response stream's", () => {
    const all = new Set(Object.keys(calls).flatMap((operation) => declared(operation as Operation)))
    assert.deepStrictEqual(
      exported.map(([name]) => name).filter((name) => !all.has(name)),
      ["ModelStreamErrorException"]
    )
  })

  for (const operation of Object.keys(calls) as Array<Operation>) {
    it(`${operation}: each declared exception is thrown as its class, with its status`, async () => {
      const names = declared(operation)
      assert.isNotEmpty(names)
      for (const name of names) {
        const Class = exported.find(([exportedName]) => exportedName === name)?.[1]
        assert.isDefined(Class, `${name} is declared but not exported`)
        const extra = name === "ModelErrorException" ? { originalStatusCode: 503, resourceName: "model/x" } : undefined
        emulator().injectFaults([{ error: name, operation, extra }])
        const error = await calls[operation]().then(
          () => assert.fail(`${operation} answered instead of throwing ${name}`),
          (e: unknown) => e as Runtime.BedrockRuntimeServiceException
        )
        assert.isTrue(
          error instanceof Class!,
          `${operation} threw ${error.name} (${error.constructor.name}), not ${name}`
        )
        assert.strictEqual(error.name, name)
        assert.strictEqual(error.$metadata.httpStatusCode, statuses[name], name)
        assert.strictEqual(error.$metadata.attempts, 1, name)
        if (name === "ModelErrorException") {
          const modelError = error as Runtime.ModelErrorException
          assert.strictEqual(modelError.originalStatusCode, 503)
          assert.strictEqual(modelError.resourceName, "model/x")
        }
      }
    })
  }

  it("a fault scripted for one operation waits for that operation", async () => {
    emulator().injectFaults([{ error: "AccessDeniedException", operation: "ListAsyncInvokes" }])
    await calls.InvokeModel()
    const error = await calls.ListAsyncInvokes().catch((e: unknown) => e)
    assert.instanceOf(error, Runtime.AccessDeniedException)
    await calls.ListAsyncInvokes()
  })
})
