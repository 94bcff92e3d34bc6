/**
 * Admission control: how many requests, and how many request-body bytes, one gateway process
 * holds at once. A request is admitted before its body is read, counting its declared
 * `content-length`; a body without one (chunked) is counted as its bytes arrive. Counters only:
 * one event loop, no locks.
 *
 * @internal
 */

/** A request's hold on the gateway: grown by the bytes a chunked body brings, released once. */
export interface Ticket {
  /** Counts `bytes` more; `false` (nothing counted) when they would pass the bytes bound. */
  readonly grow: (bytes: number) => boolean
  readonly release: () => void
}

export interface Limits {
  readonly maxRequests: number
  readonly maxBytes: number
}

export interface Admission {
  /** A ticket, or `undefined` when the request would pass either bound. */
  readonly admit: (declaredBytes: number) => Ticket | undefined
  /** Which bound a request of `declaredBytes` would pass now, if any. */
  readonly full: (declaredBytes: number) => "requests" | "bytes" | undefined
  readonly inFlight: () => { readonly requests: number; readonly bytes: number }
}

export const make = (limits: Limits): Admission => {
  let requests = 0
  let bytes = 0
  const full = (declaredBytes: number) =>
    requests >= limits.maxRequests ? "requests" : bytes + declaredBytes > limits.maxBytes ? "bytes" : undefined
  const admit = (declaredBytes: number): Ticket | undefined => {
    if (full(declaredBytes) !== undefined) return undefined
    requests++
    bytes += declaredBytes
    let held = declaredBytes
    let released = false
    return {
      grow: (more) => {
        if (bytes + more > limits.maxBytes) return false
        bytes += more
        held += more
        return true
      },
      release: () => {
        if (released) return
        released = true
        requests--
        bytes -= held
      }
    }
  }
  return { admit, full, inFlight: () => ({ requests, bytes }) }
}
