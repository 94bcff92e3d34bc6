/**
 * The gateway's dashboard, served at `/ui` by the gateway itself: deployments and their health,
 * spend over time per alias and per key, recent requests (never their input: spend rows hold
 * none), async jobs, and a playground that embeds a few texts and shows their cosine
 * similarities. Every data call sends the master key, asked for once per tab.
 *
 * The stack is small on purpose: Preact (React's component model in 4 kB, no runtime
 * dependencies) for the page, uPlot (a ~50 kB canvas chart made for time series) for spend over
 * time, a plain canvas for the heatmap; esbuild bundles them into one JS and one CSS file
 * (`src/internal/ui/assets.ts`), so the gateway serves two files and a user installs nothing.
 */
import { render } from "preact"
import { useCallback, useEffect, useRef, useState } from "preact/hooks"
import {
  ApiError,
  type BatchStatus,
  call,
  type Deployment,
  forgetKey,
  type Health,
  type HealthEndpoint,
  type JobRow,
  type RequestRow,
  type Spend,
  saveKey,
  savedKey
} from "./api.ts"
import { SpendChart } from "./chart.tsx"
import { cosineMatrix, drawHeatmap } from "./heatmap.ts"
import "./app.css"

const usd = (value: number) => `$${value.toFixed(value !== 0 && value < 0.01 ? 8 : 4)}`
const when = (iso: string) => new Date(iso).toLocaleString()

const message = (error: unknown) =>
  error instanceof ApiError ? `${error.message} (HTTP ${error.status})` : String((error as Error)?.message ?? error)

const KeyForm = (props: { readonly error: string | null; readonly onKey: (key: string) => void }) => {
  const [value, setValue] = useState("")
  return (
    <form
      id="key-form"
      onSubmit={(event) => {
        event.preventDefault()
        if (value.trim() !== "") props.onKey(value.trim())
      }}
    >
      <label>
        Master key{" "}
        <input
          id="key"
          type="password"
          autoComplete="off"
          value={value}
          onInput={(e) => setValue(e.currentTarget.value)}
        />
      </label>
      <button type="submit">Open the dashboard</button>
      {props.error === null ? null : (
        <p id="error" role="alert">
          {props.error}
        </p>
      )}
    </form>
  )
}

type HealthState = "healthy" | "unhealthy" | "unchecked" | "unknown"

/** A deployment's health as `/health` reports it; unknown when the gateway does not answer it. */
const healthOf = (health: Health | null, deployment: Deployment): { state: HealthState; detail: string } => {
  if (health === null) return { state: "unknown", detail: "GET /health did not answer" }
  const same = (e: HealthEndpoint) =>
    e.model_name === deployment.model_name &&
    e.model === deployment.model &&
    (e.aws_region_name === undefined || e.aws_region_name === deployment.region)
  const bad = health.unhealthy_endpoints.find(same)
  if (bad !== undefined) {
    const until = bad.cooldown_until === undefined ? "" : ` (cooling down until ${String(bad.cooldown_until)})`
    return { state: "unhealthy", detail: `${bad.error ?? ""}${until}` }
  }
  const good = health.healthy_endpoints.find(same)
  if (good !== undefined) {
    return { state: "healthy", detail: good.latency_ms === undefined ? "" : `${good.latency_ms} ms` }
  }
  return health.unchecked_endpoints?.some(same) === true
    ? { state: "unchecked", detail: "not probed (async or batch route)" }
    : { state: "unknown", detail: "" }
}

const Deployments = (props: {
  readonly deployments: ReadonlyArray<Deployment>
  readonly health: Health | null
  readonly onCheck: () => void
}) => (
  <section>
    <h2>
      Models and deployments{" "}
      <button id="check-health" type="button" onClick={props.onCheck}>
        Check health
      </button>
    </h2>
    <table id="deployments">
      <thead>
        <tr>
          <th>Model</th>
          <th>Bedrock model</th>
          <th>Region</th>
          <th>Health</th>
        </tr>
      </thead>
      <tbody>
        {props.deployments.map((d) => {
          const { state, detail } = healthOf(props.health, d)
          return (
            <tr key={`${d.model_name}/${d.model}/${d.region}`} data-model={d.model_name}>
              <td>{d.model_name}</td>
              <td>{d.model}</td>
              <td>{d.region ?? "—"}</td>
              <td class={`health ${state}`} title={detail}>
                {state}
              </td>
            </tr>
          )
        })}
      </tbody>
    </table>
  </section>
)

const Requests = (props: { readonly rows: ReadonlyArray<RequestRow> }) => (
  <section>
    <h2>Recent requests</h2>
    <table id="requests">
      <thead>
        <tr>
          <th>Time</th>
          <th>Model</th>
          <th>Key</th>
          <th>Tokens</th>
          <th>Cost</th>
          <th>Latency</th>
          <th>Status</th>
        </tr>
      </thead>
      <tbody>
        {props.rows.map((row) => (
          <tr key={row.request_id} data-request-id={row.request_id}>
            <td>{when(row.time)}</td>
            <td title={row.deployment}>{row.model}</td>
            <td>{row.key}</td>
            <td>{row.tokens}</td>
            <td>{usd(row.cost)}</td>
            <td>{Math.round(row.latency_ms)} ms</td>
            <td>{row.status}</td>
          </tr>
        ))}
      </tbody>
    </table>
  </section>
)

const Jobs = (props: { readonly jobs: ReadonlyArray<JobRow> }) => {
  const [live, setLive] = useState<Record<string, BatchStatus | string>>({})
  useEffect(() => {
    // Bedrock's own status of the jobs still running (at most 20), through GET /v1/batches/{id}.
    for (const job of props.jobs.filter((j) => j.settled_at === null).slice(0, 20)) {
      call<BatchStatus>(`/v1/batches/${encodeURIComponent(job.invocation_arn)}`).then(
        (status) => setLive((all) => ({ ...all, [job.invocation_arn]: status })),
        (error) => setLive((all) => ({ ...all, [job.invocation_arn]: message(error) }))
      )
    }
  }, [props.jobs])
  const statusOf = (job: JobRow) => {
    if (job.settled_at !== null) return { status: "ended", progress: `spend recorded ${when(job.settled_at)}` }
    const seen = live[job.invocation_arn]
    if (seen === undefined) return { status: "pending", progress: "…" }
    if (typeof seen === "string") return { status: "unknown", progress: seen }
    const counts = seen.request_counts
    const progress =
      counts === undefined || counts.total === 0
        ? (seen.metadata?.failure_message ?? "")
        : `${counts.completed + counts.failed} / ${counts.total}${counts.failed > 0 ? ` (${counts.failed} failed)` : ""}`
    return { status: seen.status, progress }
  }
  return (
    <section>
      <h2>Async and batch jobs</h2>
      <p class="empty">
        Async-invoke jobs submitted through this gateway. Batch-inference jobs (
        <code>bedrock-embed embed --mode batch</code>) run outside it: their progress is in that command's output.
      </p>
      {props.jobs.length === 0 ? <p class="empty">No async-invoke jobs yet.</p> : null}
      <table id="jobs">
        <thead>
          <tr>
            <th>Job</th>
            <th>Model</th>
            <th>Key</th>
            <th>Submitted</th>
            <th>Status</th>
            <th>Progress</th>
          </tr>
        </thead>
        <tbody>
          {props.jobs.map((job) => {
            const { status, progress } = statusOf(job)
            return (
              <tr key={job.invocation_arn}>
                <td class="arn">{job.invocation_arn}</td>
                <td title={job.deployment}>{job.model}</td>
                <td>{job.key}</td>
                <td>{when(job.submitted_at)}</td>
                <td>{status}</td>
                <td>{progress}</td>
              </tr>
            )
          })}
        </tbody>
      </table>
    </section>
  )
}

const Playground = (props: { readonly models: ReadonlyArray<string>; readonly onEmbedded: () => void }) => {
  const [model, setModel] = useState(props.models[0] ?? "")
  const [texts, setTexts] = useState("a cat sits on the mat\na kitten rests on a rug\nquarterly revenue grew 8%")
  const [matrix, setMatrix] = useState<Array<Array<number>> | null>(null)
  const [error, setError] = useState<string | null>(null)
  const canvas = useRef<HTMLCanvasElement>(null)
  useEffect(() => {
    if (canvas.current !== null && matrix !== null) drawHeatmap(canvas.current, matrix)
  }, [matrix])
  const embed = async () => {
    const input = texts
      .split("\n")
      .map((line) => line.trim())
      .filter((line) => line !== "")
    setError(null)
    try {
      const response = await call<{ data: Array<{ index: number; embedding: Array<number> }> }>("/v1/embeddings", {
        method: "POST",
        body: { model, input, encoding_format: "float" }
      })
      const vectors = [...response.data].sort((a, b) => a.index - b.index).map((d) => d.embedding)
      setMatrix(cosineMatrix(vectors))
      props.onEmbedded()
    } catch (cause) {
      setError(message(cause))
    }
  }
  return (
    <section>
      <h2>Playground</h2>
      <p>One text a line; each is embedded with the chosen model and compared with the others (cosine similarity).</p>
      <div class="playground">
        <select id="playground-model" value={model} onChange={(e) => setModel(e.currentTarget.value)}>
          {props.models.map((name) => (
            <option key={name} value={name}>
              {name}
            </option>
          ))}
        </select>
        <textarea id="playground-texts" rows={5} value={texts} onInput={(e) => setTexts(e.currentTarget.value)} />
        <button id="playground-embed" type="button" onClick={embed}>
          Embed and compare
        </button>
      </div>
      {error === null ? null : (
        <p id="playground-error" role="alert">
          {error}
        </p>
      )}
      <canvas
        id="heatmap"
        ref={canvas}
        hidden={matrix === null}
        {...(matrix === null ? {} : { "data-matrix": JSON.stringify(matrix) })}
      />
    </section>
  )
}

const periods = [
  { hours: 1, label: "last hour" },
  { hours: 24, label: "last 24 hours" },
  { hours: 24 * 7, label: "last 7 days" },
  { hours: 24 * 30, label: "last 30 days" }
]

interface Data {
  readonly deployments: ReadonlyArray<Deployment>
  readonly health: Health | null
  readonly spend: Spend
  readonly requests: ReadonlyArray<RequestRow>
  readonly jobs: ReadonlyArray<JobRow>
}

/**
 * Everything the page shows. `/health` probes every deployment, so it is asked on opening and on
 * "Check health" only (`health`), not on each refresh; a gateway without it shows health unknown.
 */
const load = async (hours: number, health: Health | null | undefined): Promise<Data> => {
  const [deployments, spend, requests, jobs] = await Promise.all([
    call<{ deployments: Array<Deployment> }>("/ui/api/deployments"),
    call<Spend>(`/ui/api/spend?hours=${hours}`),
    call<{ requests: Array<RequestRow> }>("/ui/api/requests?limit=50"),
    call<{ jobs: Array<JobRow> }>("/ui/api/jobs?limit=50")
  ])
  const checked =
    health !== undefined
      ? health
      : await call<Health>("/health").then(
          (body) => (Array.isArray(body?.healthy_endpoints) && Array.isArray(body?.unhealthy_endpoints) ? body : null),
          () => null
        )
  return { deployments: deployments.deployments, health: checked, spend, requests: requests.requests, jobs: jobs.jobs }
}

const App = () => {
  const [key, setKey] = useState<string | null>(savedKey())
  const [error, setError] = useState<string | null>(null)
  const [hours, setHours] = useState(24)
  const [data, setData] = useState<Data | null>(null)
  const health = useRef<Health | null | undefined>(undefined)
  const refresh = useCallback(() => {
    if (savedKey() === null) return
    load(hours, health.current).then(
      (loaded) => {
        health.current = loaded.health
        setData(loaded)
        setError(null)
      },
      (cause) => {
        if (cause instanceof ApiError && (cause.status === 401 || cause.status === 403)) {
          health.current = undefined
          forgetKey()
          setKey(null)
          setData(null)
        }
        setError(message(cause))
      }
    )
  }, [hours])
  useEffect(() => {
    refresh()
    const timer = setInterval(refresh, 30_000)
    return () => clearInterval(timer)
  }, [refresh, key])
  if (key === null || data === null) {
    return (
      <main>
        <h1>bedrock-embed gateway</h1>
        {key === null ? (
          <KeyForm
            error={error}
            onKey={(entered) => {
              saveKey(entered)
              setKey(entered)
            }}
          />
        ) : (
          <p id="loading">{error ?? "Loading…"}</p>
        )}
      </main>
    )
  }
  const models = [...new Set(data.deployments.map((d) => d.model_name))]
  return (
    <main id="dashboard">
      <header>
        <h1>bedrock-embed gateway</h1>
        <button
          type="button"
          onClick={() => {
            forgetKey()
            setKey(null)
            setData(null)
          }}
        >
          Forget the key
        </button>
      </header>
      {error === null ? null : (
        <p id="error" role="alert">
          {error}
        </p>
      )}
      <Deployments
        deployments={data.deployments}
        health={data.health}
        onCheck={() => {
          health.current = undefined
          refresh()
        }}
      />
      <section>
        <h2>
          Spend,{" "}
          <select id="hours" value={hours} onChange={(e) => setHours(Number(e.currentTarget.value))}>
            {periods.map((p) => (
              <option key={p.hours} value={p.hours}>
                {p.label}
              </option>
            ))}
          </select>
        </h2>
        <div class="charts">
          <SpendChart
            id="spend-by-model"
            title="Spend per model (USD)"
            buckets={data.spend.buckets}
            series={data.spend.by_model}
            field="cost"
          />
          <SpendChart
            id="spend-by-key"
            title="Spend per key (USD)"
            buckets={data.spend.buckets}
            series={data.spend.by_key}
            field="cost"
          />
          <SpendChart
            id="tokens-by-model"
            title="Tokens per model"
            buckets={data.spend.buckets}
            series={data.spend.by_model}
            field="tokens"
          />
        </div>
      </section>
      <Requests rows={data.requests} />
      <Jobs jobs={data.jobs} />
      <Playground models={models} onEmbedded={refresh} />
    </main>
  )
}

render(<App />, document.getElementById("app")!)
