/**
 * S3 reads, lists and writes for async-invoke outputs and batch inference jobs, on
 * `@aws-sdk/client-s3`. Large objects (a job's `.out` files) are read a byte range at a time
 * ({@link forEachLine}), never as one string.
 *
 * S3 speaks SigV4 only: a Bedrock API key cannot read S3, so a caller on bearer auth still needs
 * AWS credentials (from parameters, the environment or the default chain) to read results.
 * Clients are kept per region, endpoint and identity in an `RcMap`: each owns its sockets, which
 * are closed after five idle minutes and with the layer. Interrupting a call aborts its request.
 *
 * @since 0.1.0
 */
import type { S3Client } from "@aws-sdk/client-s3"
import type { AwsCredentialIdentityProvider } from "@smithy/types"
import { Context, type Duration, Effect, Layer } from "effect"
import { ObjectStoreError } from "./Errors.ts"
import * as ClientCache from "./internal/clientCache.ts"
import { lazyImport } from "./internal/lazy.ts"

/**
 * Where and as whom S3 is called.
 *
 * @category models
 * @since 0.1.0
 */
export interface Target {
  readonly region: string
  /** A custom S3 endpoint (local S3 server, VPC endpoint); path-style addressing is used with it. */
  readonly endpoint: string | undefined
  readonly credentials: AwsCredentialIdentityProvider | undefined
  /** Identity part of the client cache key (a digest, never a secret). */
  readonly cacheKey: string
}

/**
 * One listed object.
 *
 * @category models
 * @since 0.1.0
 */
export interface ObjectInfo {
  readonly uri: string
  readonly size: number
}

/**
 * The object store's interface.
 *
 * @category models
 * @since 0.1.0
 */
export interface Service {
  /** Every object under an `s3://bucket/prefix` URI (all pages). */
  readonly list: (uri: string, target: Target) => Effect.Effect<ReadonlyArray<ObjectInfo>, ObjectStoreError>
  /** An object's content as UTF-8 text. */
  readonly getText: (uri: string, target: Target) => Effect.Effect<string, ObjectStoreError>
  /**
   * Part of an object's bytes (`length` bytes from `offset`, fewer at its end), or all of them:
   * what reads a large object a page at a time.
   */
  readonly getBytes: (
    uri: string,
    target: Target,
    range?: { readonly offset: number; readonly length: number }
  ) => Effect.Effect<Uint8Array, ObjectStoreError>
  /** Writes an object. */
  readonly put: (uri: string, body: string | Uint8Array, target: Target) => Effect.Effect<void, ObjectStoreError>
}

/**
 * The object store service.
 *
 * @category services
 * @since 0.1.0
 */
export class ObjectStore extends Context.Service<ObjectStore, Service>()("@bedrock-embed/core/ObjectStore") {}

/**
 * Splits `s3://bucket/key` into bucket and key.
 *
 * @category parsing
 * @since 0.1.0
 */
export const parseUri = (uri: string): { readonly bucket: string; readonly key: string } | undefined => {
  const match = /^s3:\/\/([^/]+)\/?(.*)$/.exec(uri)
  return match === null ? undefined : { bucket: match[1]!, key: match[2]! }
}

const utf8 = new TextDecoder()

/**
 * Calls `onLine` with every non-blank line of a listed object (JSONL: a batch job's manifest and
 * `.out` files), read a page at a time (8 MiB by default) with {@link Service.getBytes}: memory
 * holds one page and one line, whatever the object's size.
 *
 * @category reading
 * @since 0.1.0
 */
export const forEachLine = (
  store: Service,
  object: ObjectInfo,
  target: Target,
  onLine: (line: string) => void,
  bytesPerPage: number = 8 << 20
): Effect.Effect<void, ObjectStoreError> =>
  Effect.gen(function* () {
    let carry: Buffer = Buffer.alloc(0)
    const emit = (bytes: Buffer) => {
      if (bytes.some((b) => b !== 0x20 && b !== 0x0d && b !== 0x09)) onLine(utf8.decode(bytes))
    }
    for (let offset = 0; offset < object.size; offset += bytesPerPage) {
      const length = Math.min(bytesPerPage, object.size - offset)
      const got = yield* store.getBytes(object.uri, target, { offset, length })
      const page = Buffer.from(got.buffer, got.byteOffset, got.byteLength)
      const bytes = carry.length === 0 ? page : Buffer.concat([carry, page])
      let start = 0
      for (let end = bytes.indexOf(10); end >= 0; end = bytes.indexOf(10, start)) {
        emit(bytes.subarray(start, end))
        start = end + 1
      }
      // A copy: a line's tail does not keep its whole page alive.
      carry = Buffer.from(bytes.subarray(start))
    }
    emit(carry)
  })

interface SdkError {
  readonly name?: string
  readonly message?: string
  readonly $metadata?: { readonly httpStatusCode?: number; readonly requestId?: string }
}

const failure = (uri: string, action: string) => (cause: unknown) => {
  const error = (typeof cause === "object" && cause !== null ? cause : {}) as SdkError
  const status = error.$metadata?.httpStatusCode
  return new ObjectStoreError({
    message: `Could not ${action} ${uri}: ${error.name ?? "Error"}${error.message ? ` — ${error.message}` : ""}`,
    uri,
    awsErrorName: error.name ?? "Error",
    ...(status === undefined ? {} : { httpStatus: status }),
    ...(error.$metadata?.requestId === undefined ? {} : { requestId: error.$metadata.requestId })
  })
}

/**
 * Object store options.
 *
 * @category models
 * @since 0.1.0
 */
export interface Options {
  /** How long a region/endpoint/identity's S3 client (and its sockets) is kept unused. Default 5 minutes. */
  readonly clientIdleTimeToLive?: Duration.Input | undefined
}

const keyOf = (target: Target): string => `${target.region}\u0000${target.endpoint ?? ""}\u0000${target.cacheKey}`

/** The S3 SDK, loaded on first use: most runs never read an async job's output. */
type Sdk = typeof import("@aws-sdk/client-s3")
const loadSdk = lazyImport(() => import("@aws-sdk/client-s3"))

const located = (uri: string) => {
  const parsed = parseUri(uri)
  return parsed === undefined
    ? Effect.fail(new ObjectStoreError({ message: `"${uri}" is not an S3 URI (s3://bucket/key)`, uri }))
    : Effect.succeed(parsed)
}

/**
 * The asked range of what a server sent: some send more than asked (the whole object when they
 * ignore `Range`, or for `bytes=0-0`), saying where it starts in `Content-Range`.
 */
const withinRange = (
  bytes: Uint8Array,
  contentRange: string | undefined,
  range: { readonly offset: number; readonly length: number }
) => {
  const start = contentRange === undefined ? 0 : Number(/^bytes (\d+)-/.exec(contentRange)?.[1] ?? Number.NaN)
  if (!(start <= range.offset) || (start === range.offset && bytes.length <= range.length)) return bytes
  return bytes.subarray(range.offset - start, range.offset - start + range.length)
}

/**
 * Makes the object store; clients are made on first use per region, endpoint and identity,
 * released when idle, and all released when the scope closes.
 *
 * @category constructors
 * @since 0.1.0
 */
export const make = Effect.fnUntraced(function* (options: Options = {}) {
  const clients = yield* ClientCache.make({
    acquire: ({ target, sdk }: { readonly target: Target; readonly sdk: Sdk }) =>
      new sdk.S3Client({
        region: target.region,
        ...(target.endpoint === undefined ? {} : { endpoint: target.endpoint, forcePathStyle: true }),
        ...(target.credentials === undefined ? {} : { credentials: target.credentials })
      }),
    release: (client) => client.destroy(),
    // Long enough to read one job's outputs on one client; its sockets are freed soon after.
    idleTimeToLive: options.clientIdleTimeToLive ?? "5 minutes"
  })
  /** One S3 call; the client is held until its promise (the body read included) settles. */
  const call = <A>(
    target: Target,
    run: (client: S3Client, sdk: Sdk, signal: AbortSignal) => Promise<A>,
    failed: ReturnType<typeof failure>
  ) =>
    Effect.flatMap(loadSdk, (sdk) =>
      clients.use(keyOf(target), { target, sdk }, (client) =>
        Effect.tryPromise({ try: (signal) => run(client, sdk, signal), catch: failed })
      )
    )

  const list = Effect.fn("ObjectStore.list")(function* (uri: string, target: Target) {
    const { bucket, key } = yield* located(uri)
    const out: Array<ObjectInfo> = []
    let token: string | undefined
    do {
      const page = yield* call(
        target,
        (client, sdk, signal) =>
          client.send(
            new sdk.ListObjectsV2Command({
              Bucket: bucket,
              Prefix: key,
              ...(token === undefined ? {} : { ContinuationToken: token })
            }),
            { abortSignal: signal }
          ),
        failure(uri, "list")
      )
      for (const object of page.Contents ?? []) {
        if (object.Key !== undefined) out.push({ uri: `s3://${bucket}/${object.Key}`, size: object.Size ?? 0 })
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined
    } while (token !== undefined)
    return out
  })

  const getText = Effect.fn("ObjectStore.getText")(function* (uri: string, target: Target) {
    const { bucket, key } = yield* located(uri)
    return yield* call(
      target,
      async (client, sdk, signal) => {
        const output = await client.send(new sdk.GetObjectCommand({ Bucket: bucket, Key: key }), {
          abortSignal: signal
        })
        return (await output.Body?.transformToString("utf-8")) ?? ""
      },
      failure(uri, "read")
    )
  })

  const getBytes = Effect.fn("ObjectStore.getBytes")(function* (
    uri: string,
    target: Target,
    range?: { readonly offset: number; readonly length: number }
  ) {
    const { bucket, key } = yield* located(uri)
    // An empty range is no call: S3 refuses `bytes=n-(n-1)`.
    if (range !== undefined && range.length <= 0) return new Uint8Array(0)
    const Range = range === undefined ? undefined : `bytes=${range.offset}-${range.offset + range.length - 1}`
    return yield* call(
      target,
      async (client, sdk, signal) => {
        const output = await client.send(
          new sdk.GetObjectCommand({ Bucket: bucket, Key: key, ...(Range === undefined ? {} : { Range }) }),
          { abortSignal: signal }
        )
        const bytes = (await output.Body?.transformToByteArray()) ?? new Uint8Array(0)
        return range === undefined ? bytes : withinRange(bytes, output.ContentRange, range)
      },
      failure(uri, "read")
    )
  })

  const put = Effect.fn("ObjectStore.put")(function* (uri: string, body: string | Uint8Array, target: Target) {
    const { bucket, key } = yield* located(uri)
    yield* call(
      target,
      (client, sdk, signal) =>
        client.send(new sdk.PutObjectCommand({ Bucket: bucket, Key: key, Body: body }), { abortSignal: signal }),
      failure(uri, "write")
    )
  })

  return ObjectStore.of({ list, getText, getBytes, put })
})

/**
 * The S3-backed object store.
 *
 * @category layers
 * @since 0.1.0
 */
export const layer: Layer.Layer<ObjectStore> = Layer.effect(ObjectStore, make())

/**
 * The S3-backed object store with options.
 *
 * @category layers
 * @since 0.1.0
 */
export const layerWith = (options: Options): Layer.Layer<ObjectStore> => Layer.effect(ObjectStore, make(options))
