/** Plain-text tables for the benchmark's output. */

export const pad = (s: string, w: number) => (s.length >= w ? s : s + " ".repeat(w - s.length))

export const table = (title: string, header: ReadonlyArray<string>, rows: ReadonlyArray<ReadonlyArray<string>>) => {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)))
  console.log(`\n${title}`)
  console.log(header.map((h, i) => pad(h, widths[i]!)).join("  "))
  console.log(widths.map((w) => "-".repeat(w)).join("  "))
  for (const row of rows)
    console.log(
      row
        .map((c, i) => pad(c, widths[i]!))
        .join("  ")
        .trimEnd()
    )
}
