/** A time-series chart of spend (uPlot on its canvas), one line a series. */
import { useEffect, useRef } from "preact/hooks"
import uPlot from "uplot"
import "uplot/dist/uPlot.min.css"
import type { Series } from "./api.ts"

const palette = ["#2563eb", "#dc2626", "#16a34a", "#9333ea", "#ea580c", "#0891b2", "#ca8a04", "#db2777"]

/** The sum of each series, as the chart's `data-totals` (what it plots, for a reader or a test). */
const totalsOf = (series: Series, field: "cost" | "tokens") =>
  Object.fromEntries(series.names.map((name, i) => [name, series[field][i]!.reduce((sum, x) => sum + x, 0)]))

/** An axis tick in dollars: embedding requests cost fractions of a cent, so small ones in exponent form. */
const dollars = (value: number) =>
  value === 0 ? "0" : Math.abs(value) < 0.01 ? value.toExponential(1) : value.toFixed(2)

export const SpendChart = (props: {
  readonly id: string
  readonly title: string
  readonly buckets: ReadonlyArray<number>
  readonly series: Series
  readonly field: "cost" | "tokens"
}) => {
  const box = useRef<HTMLDivElement>(null)
  const { buckets, series, field } = props
  useEffect(() => {
    const element = box.current
    if (element === null) return
    const options: uPlot.Options = {
      width: Math.max(320, element.clientWidth),
      height: 220,
      scales: { x: { time: true } },
      axes: [
        {},
        {
          label: field === "cost" ? "USD" : "tokens",
          size: 70,
          values: (_plot, splits) => splits.map(field === "cost" ? dollars : String)
        }
      ],
      series: [
        {},
        ...series.names.map((name, i) => ({
          label: name,
          stroke: palette[i % palette.length]!,
          width: 2,
          points: { show: buckets.length < 2 }
        }))
      ]
    }
    const data: uPlot.AlignedData = [
      Float64Array.from(buckets),
      ...series.names.map((_, i) => Float64Array.from(series[field][i]!))
    ]
    const plot = new uPlot(options, data, element)
    return () => plot.destroy()
  }, [buckets, series, field])
  return (
    <figure class="chart">
      <figcaption>{props.title}</figcaption>
      {series.names.length === 0 ? <p class="empty">No requests in this period.</p> : null}
      <div id={props.id} ref={box} data-totals={JSON.stringify(totalsOf(series, field))} />
    </figure>
  )
}
