/**
 * The dashboard's calls to the gateway: every one with the master key the page asked for once
 * (kept in `sessionStorage`, for this tab only), as `Authorization: Bearer`.
 */

const storageKey = "bedrock-embed.master-key"

export const savedKey = (): string | null => sessionStorage.getItem(storageKey)
export const saveKey = (key: string): void => sessionStorage.setItem(storageKey, key)
export const forgetKey = (): void => sessionStorage.removeItem(storageKey)

/** A call the gateway refused or could not answer, with its status and OpenAI-style message. */
export class ApiError extends Error {
  readonly status: number
  constructor(status: number, message: string) {
    super(message)
    this.status = status
  }
}

/** The gateway's JSON answer to `path`, or an {@link ApiError} with its message. */
export const call = async <A>(path: string, init: { method?: string; body?: unknown } = {}): Promise<A> => {
  const response = await fetch(path, {
    method: init.method ?? "GET",
    headers: {
      authorization: `Bearer ${savedKey() ?? ""}`,
      ...(init.body === undefined ? {} : { "content-type": "application/json" })
    },
    ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) })
  })
  const text = await response.text()
  let body: unknown
  try {
    body = text === "" ? undefined : JSON.parse(text)
  } catch {
    body = undefined
  }
  if (!response.ok) {
    const message = (body as { error?: { message?: string } } | undefined)?.error?.message ?? response.statusText
    throw new ApiError(response.status, message)
  }
  return body as A
}

/** A deployment as `/ui/api/deployments` lists it. */
export interface Deployment {
  readonly model_name: string
  readonly model: string
  readonly region: string | null
}

/** LiteLLM's `/health` endpoint entry (the fields the page reads). */
export interface HealthEndpoint {
  readonly model_name?: string
  readonly model?: string
  readonly aws_region_name?: string
  readonly latency_ms?: number
  readonly error?: string
  readonly cooldown_until?: string | number
}

export interface Health {
  readonly healthy_endpoints: ReadonlyArray<HealthEndpoint>
  readonly unhealthy_endpoints: ReadonlyArray<HealthEndpoint>
  /** Deployments no probe checks (async-invoke and batch routes). */
  readonly unchecked_endpoints?: ReadonlyArray<HealthEndpoint>
}

/** Spend over time for one grouping (per alias, or per key). */
export interface Series {
  readonly names: ReadonlyArray<string>
  /** Per name, one value per bucket. */
  readonly cost: ReadonlyArray<ReadonlyArray<number>>
  readonly tokens: ReadonlyArray<ReadonlyArray<number>>
}

export interface Spend {
  readonly bucket_seconds: number
  /** Bucket starts, Unix seconds. */
  readonly buckets: ReadonlyArray<number>
  readonly by_model: Series
  readonly by_key: Series
}

export interface RequestRow {
  readonly request_id: string
  readonly time: string
  readonly model: string
  readonly deployment: string
  readonly key: string
  readonly tokens: number
  readonly cost: number
  readonly latency_ms: number
  readonly status: string
}

export interface JobRow {
  readonly invocation_arn: string
  readonly model: string
  readonly deployment: string
  readonly key: string
  readonly submitted_at: string
  readonly settled_at: string | null
}

/** What `GET /v1/batches/{id}` says of a job (the fields the page reads). */
export interface BatchStatus {
  readonly status: string
  readonly request_counts?: { readonly total: number; readonly completed: number; readonly failed: number }
  readonly metadata?: { readonly failure_message?: string }
}
