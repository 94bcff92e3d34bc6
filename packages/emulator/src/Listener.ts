/**
 * One TCP port that speaks both HTTP/1.1 and h2c (HTTP/2 with prior knowledge): the AWS SDK's
 * default Node handler is HTTP/2, fetch-based clients use HTTP/1.1; the HTTP/2 connection preface
 * tells them apart.
 */
import type * as Http from "node:http"
import * as Http1 from "node:http"
import * as Http2 from "node:http2"
import * as Net from "node:net"
import { Duplex } from "node:stream"

export type Request = Http.IncomingMessage | Http2.Http2ServerRequest
export type Response = Http.ServerResponse | Http2.Http2ServerResponse

const PREFACE = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")

/**
 * A stream over `socket` that first yields `head`. The HTTP/2 session reads the socket's handle
 * directly and would miss bytes given back with `unshift`, so it gets this stream instead.
 */
const replaying = (socket: Net.Socket, head: Buffer): Duplex => {
  const stream = new Duplex({
    read: () => {
      socket.resume()
    },
    write: (chunk, _encoding, callback) => {
      socket.write(chunk, callback)
    },
    final: (callback) => {
      socket.end(callback)
    },
    destroy: (error, callback) => {
      socket.destroy(error ?? undefined)
      callback(error)
    }
  })
  stream.push(head)
  socket.on("data", (chunk: Buffer) => {
    if (!stream.push(chunk)) socket.pause()
  })
  socket.on("end", () => stream.push(null))
  socket.on("close", () => stream.destroy())
  return stream
}

/** A listening port. */
export interface Listener {
  readonly url: string
  readonly port: number
  /** Stops listening and drops every connection. */
  readonly close: () => Promise<void>
}

/** Listens on `host:port` and hands every request of either protocol to `handle`. */
export const listen = async (
  port: number,
  host: string,
  handle: (req: Request, res: Response) => void
): Promise<Listener> => {
  const http1 = Http1.createServer({ keepAlive: true, keepAliveTimeout: 65_000 }, handle)
  const http2 = Http2.createServer({}, handle)
  const sockets = new Set<Net.Socket>()
  const sessions = new Set<Http2.Http2Session>()
  http2.on("session", (session) => {
    sessions.add(session)
    session.on("close", () => sessions.delete(session))
  })

  const tcp = Net.createServer({ pauseOnConnect: true, noDelay: true }, (socket) => {
    sockets.add(socket)
    socket.on("close", () => sockets.delete(socket))
    socket.on("error", () => socket.destroy())
    let seen: Buffer = Buffer.alloc(0)
    const onData = (chunk: Buffer) => {
      seen = seen.length === 0 ? chunk : Buffer.concat([seen, chunk])
      const n = Math.min(seen.length, PREFACE.length)
      const h2 = seen.subarray(0, n).equals(PREFACE.subarray(0, n))
      // The first bytes are a prefix of the HTTP/2 preface: wait for the rest before deciding.
      if (h2 && n < PREFACE.length) return
      socket.off("data", onData)
      if (h2) {
        http2.emit("connection", replaying(socket, seen))
      } else {
        socket.pause()
        socket.unshift(seen)
        http1.emit("connection", socket)
        socket.resume()
      }
    }
    socket.on("data", onData)
    socket.resume()
  })

  await new Promise<void>((resolve, reject) => {
    tcp.once("error", reject)
    tcp.listen(port, host, () => resolve())
  })
  const address = tcp.address() as Net.AddressInfo
  const shown = address.family === "IPv6" ? `[${address.address}]` : address.address
  return {
    url: `http://${shown}:${address.port}`,
    port: address.port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const session of sessions) session.destroy()
        for (const socket of sockets) socket.destroy()
        http1.closeAllConnections()
        tcp.close(() => resolve())
      })
  }
}
