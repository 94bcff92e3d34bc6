/**
 * The S3 side of the emulator: a real S3 server (s3rver) the emulator starts on loopback, or an
 * existing endpoint. Async jobs read their input media from it and write their outputs to it.
 */
import { mkdtemp, rm } from "node:fs/promises"
import * as Net from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import {
  CreateBucketCommand,
  GetObjectCommand,
  HeadBucketCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client
} from "@aws-sdk/client-s3"
import S3rver from "s3rver"

/** The identity s3rver accepts; the emulator accepts it for Bedrock too, so one identity serves both. */
export const S3_CREDENTIALS = { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" } as const

/** A running S3 endpoint with the operations async jobs need. */
export interface ObjectStore {
  readonly url: string
  /** An object's bytes, or `undefined` when it does not exist. */
  readonly read: (uri: string) => Promise<Uint8Array | undefined>
  /** The URIs of every object under an `s3://bucket/prefix` URI. */
  readonly list: (uri: string) => Promise<ReadonlyArray<string>>
  /** Writes an object, creating its bucket when missing. */
  readonly write: (uri: string, body: string) => Promise<void>
  readonly close: () => Promise<void>
}

const parse = (uri: string) => {
  const match = /^s3:\/\/([^/]+)\/(.*)$/.exec(uri)
  return match === null ? undefined : { bucket: match[1]!, key: match[2]! }
}

/**
 * Fails as `listen` fails on `host` (an address this machine does not have, a name that does not
 * resolve): s3rver's own listen never settles on such an error, so the emulator would hang.
 */
const bindable = (host: string) =>
  new Promise<void>((resolve, reject) => {
    const probe = Net.createServer()
    probe.once("error", reject)
    probe.listen(0, host, () => probe.close(() => resolve()))
  })

/** Starts s3rver on loopback (a fresh temporary folder), or wraps an existing S3 endpoint. */
export const startObjectStore = async (options: {
  readonly endpoint?: string | undefined
  readonly host?: string | undefined
  readonly credentials?: { readonly accessKeyId: string; readonly secretAccessKey: string } | undefined
}): Promise<ObjectStore> => {
  let server: S3rver | undefined
  let directory: string | undefined
  let url = options.endpoint
  if (url === undefined) {
    const host = options.host ?? "127.0.0.1"
    await bindable(host)
    directory = await mkdtemp(join(tmpdir(), "bedrock-embed-s3-"))
    server = new S3rver({ port: 0, address: host, silent: true, directory })
    const address = await server.run()
    url = `http://${address.address}:${address.port}`
  }
  const client = new S3Client({
    region: "us-east-1",
    endpoint: url,
    forcePathStyle: true,
    credentials: options.credentials ?? S3_CREDENTIALS
  })
  const buckets = new Set<string>()
  const ensureBucket = async (bucket: string) => {
    if (buckets.has(bucket)) return
    try {
      await client.send(new HeadBucketCommand({ Bucket: bucket }))
    } catch {
      await client.send(new CreateBucketCommand({ Bucket: bucket })).catch(() => undefined)
    }
    buckets.add(bucket)
  }
  return {
    url,
    read: async (uri) => {
      const location = parse(uri)
      if (location === undefined) return undefined
      try {
        const out = await client.send(new GetObjectCommand({ Bucket: location.bucket, Key: location.key }))
        return await out.Body?.transformToByteArray()
      } catch {
        return undefined
      }
    },
    list: async (uri) => {
      const location = /^s3:\/\/([^/]+)\/?(.*)$/.exec(uri)
      if (location === null) return []
      const [, bucket = "", prefix = ""] = location
      const uris: Array<string> = []
      let token: string | undefined
      do {
        const page = await client
          .send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }))
          .catch(() => undefined)
        for (const object of page?.Contents ?? [])
          if (object.Key !== undefined) uris.push(`s3://${bucket}/${object.Key}`)
        token = page?.IsTruncated === true ? page.NextContinuationToken : undefined
      } while (token !== undefined)
      return uris
    },
    write: async (uri, body) => {
      const location = parse(uri)
      if (location === undefined) throw new Error(`not an S3 URI: ${uri}`)
      await ensureBucket(location.bucket)
      await client.send(
        new PutObjectCommand({
          Bucket: location.bucket,
          Key: location.key,
          Body: body,
          ContentType: location.key.endsWith(".jsonl") ? "application/jsonl" : "application/json"
        })
      )
    },
    close: async () => {
      client.destroy()
      if (server !== undefined) await server.close()
      if (directory !== undefined) await rm(directory, { recursive: true, force: true })
    }
  }
}
