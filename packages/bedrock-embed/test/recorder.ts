/**
 * A recording stand-in for Bedrock Runtime that is not the emulator: it validates nothing and
 * embeds nothing. It records every request exactly as it arrived (method, raw path, headers,
 * body) and answers with what the test scripted — documented bodies, recorded live responses,
 * broken vectors, hangs. Tests then compare our wire bodies with AWS's, and our decoding with
 * real answers, without the emulator's reading of the docs in between.
 */
import * as Http from "node:http"
import type * as Net from "node:net"

/** One request as the stand-in received it. */
export interface Recorded {
  readonly method: string
  /** The path as sent, still percent-encoded. */
  readonly path: string
  readonly headers: Http.IncomingHttpHeaders
  /** The body text. */
  readonly text: string
  /** The body as JSON, or `undefined` when it is not JSON. */
  readonly json: unknown
}

/** What the stand-in answers. `body` is sent verbatim when it is a string (number spellings kept). */
export interface Answer {
  readonly status?: number | undefined
  readonly headers?: Readonly<Record<string, string>> | undefined
  readonly body?: unknown
  /** Milliseconds to wait before answering (a slow upstream). */
  readonly delayMs?: number | undefined
}

export interface Recorder {
  readonly url: string
  readonly requests: Array<Recorded>
  /** Answers the next requests in order; when the queue is empty, `fallback` answers. */
  readonly enqueue: (...answers: ReadonlyArray<Answer>) => void
  /** Sets how requests are answered when nothing is queued. */
  readonly answerWith: (respond: (request: Recorded) => Answer) => void
  /** The one request a call made (fails the test unless exactly one arrived). */
  readonly only: () => Recorded
  readonly reset: () => void
  readonly close: () => Promise<void>
}

const notScripted = (request: Recorded): Answer => ({
  status: 500,
  headers: { "x-amzn-errortype": "InternalServerException:http://internal.amazon.com/coral/com.amazon.bedrock/" },
  body: { message: `the recorder has no answer scripted for ${request.method} ${request.path}` }
})

/** Starts a recording stand-in on loopback (HTTP/1.1, what bedrock-embed's transport and SDK clients speak). */
export const startRecorder = async (): Promise<Recorder> => {
  const requests: Array<Recorded> = []
  const queue: Array<Answer> = []
  let fallback: (request: Recorded) => Answer = notScripted
  const sockets = new Set<Net.Socket>()
  const server = Http.createServer((req, res) => {
    const chunks: Array<Buffer> = []
    req.on("data", (chunk: Buffer) => chunks.push(chunk))
    req.on("end", () => {
      const text = Buffer.concat(chunks).toString("utf8")
      let json: unknown
      try {
        json = JSON.parse(text)
      } catch {
        json = undefined
      }
      const recorded: Recorded = { method: req.method ?? "", path: req.url ?? "", headers: req.headers, text, json }
      requests.push(recorded)
      const answer = queue.shift() ?? fallback(recorded)
      const body =
        typeof answer.body === "string" ? answer.body : answer.body === undefined ? "" : JSON.stringify(answer.body)
      const send = () => {
        if (res.destroyed) return
        res.writeHead(answer.status ?? 200, {
          "content-type": "application/json",
          "x-amzn-requestid": `recorder-${requests.length}`,
          "content-length": Buffer.byteLength(body),
          ...answer.headers
        })
        res.end(body)
      }
      if (answer.delayMs === undefined) send()
      else setTimeout(send, answer.delayMs)
    })
  })
  server.on("connection", (socket) => {
    sockets.add(socket)
    socket.on("close", () => sockets.delete(socket))
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  const { port } = server.address() as Net.AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    enqueue: (...answers) => queue.push(...answers),
    answerWith: (respond) => {
      fallback = respond
    },
    only: () => {
      if (requests.length !== 1) throw new Error(`expected exactly one request at the stand-in, got ${requests.length}`)
      return requests[0]!
    },
    reset: () => {
      requests.length = 0
      queue.length = 0
      fallback = notScripted
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy()
        server.close(() => resolve())
      })
  }
}

/** Request parameters that send calls to the recorder with a fixed SigV4 identity. */
export const recorderParams = (recorder: Recorder) => ({
  aws_bedrock_runtime_endpoint: recorder.url,
  aws_region_name: "us-east-1",
  aws_access_key_id: "AKIDRECORDER",
  aws_secret_access_key: "recorder-secret"
})
