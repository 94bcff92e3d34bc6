/**
 * Every request body AWS documents (packages/bedrock-embed/test/fixtures/ground-truth/aws-documented-vectors.json, 33 cases from the
 * model pages and the Nova guide) is accepted through the official SDK and answered in the
 * documented shape: the same keys and types, vectors of the real length, the documented enum
 * values, and for async jobs the documented S3 layout. Where live recordings contradict the docs,
 * the recording's shape is expected instead (recorded-bedrock/README.md).
 */
import { readFileSync } from "node:fs"
import {
  GetAsyncInvokeCommand,
  type GetAsyncInvokeCommandOutput,
  ListAsyncInvokesCommand,
  StartAsyncInvokeCommand,
  ValidationException
} from "@aws-sdk/client-bedrock-runtime"
import { Fixtures } from "@bedrock-embed/emulator"
import { assert, beforeAll, describe, it } from "vitest"
import { useEmulator } from "./sdk.ts"

interface Case {
  readonly model: string
  readonly operation: string
  readonly http?: { readonly path: string }
  readonly request_body: unknown
  readonly response_body: unknown
}

const cases = JSON.parse(
  readFileSync(
    new URL("../../bedrock-embed/test/fixtures/ground-truth/aws-documented-vectors.json", import.meta.url),
    "utf8"
  )
) as ReadonlyArray<Case>
const emulator = useEmulator({ s3: true, asyncDelayMs: 20 })

const png = Fixtures.png(64, 48)
const jpeg = Fixtures.jpeg(64, 48)
const longText = Array.from({ length: 12_000 }, (_, i) => `w${i % 89}`).join(" ")
/** Stand-ins for the docs' placeholders; a placeholder missing here fails the test. */
const placeholders: Readonly<Record<string, string>> = {
  "<base64 of image bytes, no data: prefix>": png,
  "data:image/jpg;base64,<base64 bytes>": `data:image/jpg;base64,${jpeg}`,
  "data:image/png;base64,{{BASE64_PAGE_IMG}}": `data:image/png;base64,${png}`,
  "<base64 of photo.jpg>": jpeg,
  "<very long text>": longText
}
const substitute = (value: unknown): unknown => {
  if (typeof value === "string") {
    const replaced = placeholders[value] ?? value
    assert.notMatch(replaced.slice(0, 200), /<[a-z][^>]*>$|\{\{/i, `unreplaced placeholder ${value}`)
    return replaced
  }
  if (Array.isArray(value)) return value.map(substitute)
  if (typeof value === "object" && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, substitute(v)]))
  }
  return value
}

/** A book whose second 32 000-character segment holds the deflection marker, as case 18's FAILURE line needs. */
const book = `${"calm prose about rivers. ".repeat(1300).slice(0, 32_000)}${"[[emulator:deflect]] ".repeat(400)}`.slice(
  0,
  40_210
)
/** Media for every `s3Location.uri` the requests name, by extension. */
const media = (uri: string): { base64: string } | string =>
  uri.endsWith(".mp4")
    ? { base64: Fixtures.mp4(30) }
    : uri.endsWith(".png")
      ? { base64: png }
      : uri.endsWith(".jpg")
        ? { base64: jpeg }
        : book
const inputUris = (value: unknown): Array<string> => {
  if (typeof value !== "object" || value === null) return []
  const record = value as Record<string, unknown>
  const own =
    typeof record.s3Location === "object" && record.s3Location !== null
      ? [(record.s3Location as { uri: string }).uri]
      : []
  return [...own, ...Object.values(record).flatMap(inputUris)]
}

/** Vector length each case's answer must have (the docs print them cut short). */
const dimensions: Readonly<Record<number, number>> = {
  0: 1536,
  1: 1024,
  2: 256,
  3: 256,
  4: 256,
  5: 1024,
  6: 1024,
  7: 1024,
  8: 512,
  9: 1536,
  10: 3072,
  11: 3072,
  12: 1024,
  13: 256,
  17: 3072,
  18: 1024,
  19: 1024,
  20: 1024,
  22: 1024,
  23: 512,
  24: 512,
  25: 512,
  27: 512
}

/** Where recordings win over the docs (recorded-bedrock/README.md). */
const expected = (index: number, documented: unknown): unknown => {
  const doc = documented as Record<string, unknown>
  switch (index) {
    // Case 3 documents `message: null` on success; case 4 leaves it out.
    case 4:
      return { ...doc, message: null }
    // The fixture dropped `response_type`, which v3 answers carry.
    case 6:
      return { ...doc, response_type: "embeddings_floats" }
    // Live v4 calls without embedding_types answer by type, with the request's texts and the request id.
    case 9:
      return {
        id: "",
        texts: ["", ""],
        embeddings: { float: doc.embeddings },
        response_type: "embeddings_by_type"
      }
    default:
      return doc
  }
}

const enumKeys = new Set(["response_type", "embeddingType", "status", "failureReason", "format", "embeddingOption"])

/**
 * Asserts `actual` has the documented shape. `free` lists may hold more or fewer elements than
 * the docs' sample (segment counts follow the media); their documented enum values must occur.
 */
const assertShape = (actual: unknown, doc: unknown, dims: number, path: string, free = false): void => {
  if (Array.isArray(doc)) {
    assert.isArray(actual, path)
    const list = actual as Array<unknown>
    if (doc.length > 0 && doc.every((x) => typeof x === "number")) {
      assert.lengthOf(list, dims, `${path}: vector length`)
      assert.isTrue(
        list.every((x) => typeof x === "number" && (!doc.every(Number.isInteger) || Number.isInteger(x))),
        path
      )
      return
    }
    if (!free) {
      assert.lengthOf(list, doc.length, path)
      for (const [i, item] of doc.entries()) assertShape(list[i], item, dims, `${path}/${i}`)
      return
    }
    for (let i = 0; i < list.length; i++) assertShape(list[i], doc[0], dims, `${path}/${i}`, true)
    for (const item of doc as Array<Record<string, unknown>>) {
      for (const [key, value] of Object.entries(item)) {
        if (!enumKeys.has(key) && key !== "embeddingScope") continue
        assert.isTrue(
          list.some((x) => (x as Record<string, unknown>)[key] === value),
          `${path}: no element with ${key}=${value}`
        )
      }
    }
    return
  }
  if (doc !== null && typeof doc === "object") {
    assert.isObject(actual, path)
    const record = actual as Record<string, unknown>
    assert.sameMembers(Object.keys(record), Object.keys(doc), path)
    for (const [key, value] of Object.entries(doc)) {
      assertShape(record[key], value, dims, `${path}/${key}`, free)
      if (!free && enumKeys.has(key) && typeof value === "string")
        assert.strictEqual(record[key], value, `${path}/${key}`)
    }
    return
  }
  if (doc === null) {
    assert.isNull(actual, path)
    return
  }
  assert.strictEqual(typeof actual, typeof doc, path)
  if (typeof doc === "number" && Number.isInteger(doc) && !path.includes("Sec"))
    assert.isTrue(Number.isInteger(actual), path)
}

const modelIdOf = (c: Case) => decodeURIComponent(c.http!.path.split("/")[2]!)
const outputFile = (c: Case) => /\{invocationId\}\/(\S+)/.exec(c.operation)?.[1]
const arnPattern = /^arn:aws:bedrock:us-east-1:\d{12}:async-invoke\/[a-z0-9]{12}$/

beforeAll(async () => {
  const uris = new Set(cases.flatMap((c) => inputUris(c.request_body)))
  for (const uri of uris) await emulator.put(uri, media(uri))
})

describe("documented InvokeModel requests", () => {
  for (const [index, c] of cases.entries()) {
    if (c.operation !== "InvokeModel") continue
    it(`case ${index}: ${c.model}`, async () => {
      const body = await emulator.invoke(modelIdOf(c), substitute(c.request_body))
      assertShape(body, expected(index, c.response_body), dimensions[index]!, "#")
    })
  }

  it("case 30: the documented invalid Cohere body is a ValidationException (400)", async () => {
    const c = cases[30]!
    assert.strictEqual(c.operation, "InvokeModel (error: ValidationException)")
    const error = await emulator.invoke(modelIdOf(c), c.request_body).catch((e: unknown) => e)
    assert.instanceOf(error, ValidationException)
    assert.strictEqual((error as ValidationException).$metadata.httpStatusCode, 400)
    assert.match((error as Error).message, /^Malformed input request: /)
  })
})

describe("documented StartAsyncInvoke requests and their S3 outputs", () => {
  const jobs: Array<{ index: number; model: string; folder: string; job: GetAsyncInvokeCommandOutput }> = []

  beforeAll(async () => {
    for (const [index, c] of cases.entries()) {
      if (c.operation !== "StartAsyncInvoke") continue
      const request = c.request_body as {
        modelId: string
        modelInput: unknown
        outputDataConfig: { s3OutputDataConfig: { s3Uri: string } }
      }
      // The SDK fills clientRequestToken itself, as the documented body notes.
      const { invocationArn } = await emulator.client().send(
        new StartAsyncInvokeCommand({
          modelId: request.modelId,
          modelInput: substitute(request.modelInput) as Record<string, never>,
          outputDataConfig: request.outputDataConfig
        })
      )
      assert.match(invocationArn ?? "", arnPattern)
      const job = await emulator.settle(invocationArn!)
      const id = invocationArn!.split("/").pop()!
      const folder = `${request.outputDataConfig.s3OutputDataConfig.s3Uri.replace(/\/+$/, "")}/${id}`
      jobs.push({ index, model: request.modelId, folder, job })
    }
  })

  it("every job completes and GetAsyncInvoke answers case 28's members", async () => {
    assert.lengthOf(jobs, 4)
    const documented = Object.keys(cases[28]!.response_body as object)
    for (const { job, folder } of jobs) {
      assert.strictEqual(job.status, "Completed")
      const { $metadata: _, ...members } = job
      assert.sameMembers(Object.keys(members), documented)
      assert.strictEqual(job.outputDataConfig?.s3OutputDataConfig?.s3Uri, folder)
      const again = await emulator.client().send(new GetAsyncInvokeCommand({ invocationArn: job.invocationArn }))
      assert.strictEqual(again.status, "Completed")
    }
    // ListAsyncInvokes summaries hold only members cases 28 and 29 document.
    const allowed = new Set([
      ...documented,
      ...Object.keys((cases[29]!.response_body as { asyncInvokeSummaries: Array<object> }).asyncInvokeSummaries[0]!)
    ])
    const listed = await emulator.client().send(new ListAsyncInvokesCommand({}))
    assert.isAtLeast(listed.asyncInvokeSummaries?.length ?? 0, 4)
    for (const summary of listed.asyncInvokeSummaries ?? []) {
      for (const key of Object.keys(summary)) assert.isTrue(allowed.has(key), key)
    }
  })

  for (const [index, c] of cases.entries()) {
    const file = outputFile(c)
    if (!c.operation.startsWith("S3 output") || file === undefined) continue
    it(`case ${index}: ${file} of ${c.model}`, async () => {
      const documented = c.response_body as Record<string, unknown> | Array<unknown>
      const source = (documented as { sourceFileUri?: string }).sourceFileUri
      const candidates = jobs.filter((j) => j.model === c.model)
      let match: (typeof jobs)[number] | undefined
      for (const j of candidates) {
        const text = await emulator.get(`${j.folder}/${file}`).catch(() => undefined)
        if (text === undefined) continue
        if (source !== undefined && JSON.parse(text).sourceFileUri !== source) continue
        match = j
      }
      assert.isDefined(match, `no job wrote ${file}`)
      const text = await emulator.get(`${match!.folder}/${file}`)
      if (file.endsWith(".jsonl")) {
        const lines = text
          .trim()
          .split("\n")
          .map((line) => JSON.parse(line))
        assertShape(lines, documented, dimensions[index]!, "#")
        return
      }
      const body = JSON.parse(text)
      // Marengo's segment lists follow the media; the Nova result file is fixed by its request.
      assertShape(body, documented, dimensions[index] ?? 0, "#", file === "output.json")
      if (file === "segmented-embedding-result.json") {
        // The documented layout, with this job's id in place of the docs' `lvmxrnjf5mo3`.
        const id = match!.folder.split("/").pop()!
        const docUri = (documented as { embeddingResults: Array<{ outputFileUri: string }> }).embeddingResults[0]!
          .outputFileUri
        assert.strictEqual(body.embeddingResults[0].outputFileUri, docUri.replace("lvmxrnjf5mo3", id))
        assert.strictEqual(body.embeddingDimension, (documented as { embeddingDimension: number }).embeddingDimension)
      }
    })
  }
})

describe("coverage", () => {
  it("every documented case is exercised here or elsewhere", () => {
    const handled = cases
      .map((c, index) => [c.operation, index] as const)
      .filter(
        ([operation]) =>
          operation === "InvokeModel" ||
          operation === "StartAsyncInvoke" ||
          operation.startsWith("S3 output") ||
          operation === "GetAsyncInvoke" ||
          operation === "ListAsyncInvokes" ||
          operation === "InvokeModel (error: ValidationException)"
      )
      .map(([, index]) => index)
    // Case 31 (a ThrottlingException dump) is errors.test.ts's; case 32 (bearer auth) emulator.test.ts's.
    assert.sameMembers(
      cases.map((_, index) => index).filter((index) => !handled.includes(index)),
      [31, 32]
    )
  })
})
