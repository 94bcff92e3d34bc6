/**
 * `pnpm chaos`: every chaos case (the short ones of `pnpm test`, more requests, every fault on
 * both models, quotas, load), one line each in a table, then a summary; exits 1 if any failed.
 *
 *   pnpm chaos [--short] [--only <substring>]
 */
import { parseArgs } from "node:util"
import * as Chaos from "./cases.ts"

const { values } = parseArgs({
  options: { short: { type: "boolean", default: false }, only: { type: "string" } }
})
const selected = [...Chaos.cases, ...Chaos.quotaCases].filter(
  (c) => (!values.short || c.short) && (values.only === undefined || c.name.includes(values.only))
)

const width = Math.min(100, Math.max(...selected.map((c) => c.name.length)))
const row = (outcome: Chaos.Outcome) => {
  const name = outcome.name.length > width ? `${outcome.name.slice(0, width - 1)}…` : outcome.name.padEnd(width)
  const ms = `${(outcome.ms / 1000).toFixed(1)} s`.padStart(7)
  const note = outcome.note.replace(/\s+/g, " ").slice(0, 220)
  return `${outcome.ok ? "pass" : "FAIL"}  ${name}  ${ms}  ${note}`
}

process.stdout.write(`${"".padEnd(4)}  ${"case".padEnd(width)}  ${"time".padStart(7)}  note\n`)
const runner = await Chaos.makeRunner()
const outcomes: Array<Chaos.Outcome> = []
try {
  for (const c of selected) {
    const outcome = await runner.run(c)
    outcomes.push(outcome)
    process.stdout.write(`${row(outcome)}\n`)
  }
} finally {
  await runner.close()
}
const failed = outcomes.filter((o) => !o.ok)
process.stdout.write(
  `\n${outcomes.length - failed.length} passed, ${failed.length} failed of ${outcomes.length} cases\n`
)
process.exit(failed.length === 0 ? 0 : 1)
