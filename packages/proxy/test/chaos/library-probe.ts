/**
 * One library call against the chaos stand-in, in a process of its own (a crash is a dead child,
 * not a dead suite): `library-probe.ts '<json request>'`. Prints one JSON line: the response's
 * vectors' first components, or the error's `_tag` and message, and the time taken.
 */
import { BedrockEmbed } from "bedrock-embed"

const request = JSON.parse(process.argv[2] ?? "{}") as {
  readonly request: Parameters<typeof BedrockEmbed.embedding>[0]
}
const started = performance.now()
const client = BedrockEmbed.make()
const print = (result: Record<string, unknown>) =>
  process.stdout.write(`${JSON.stringify({ ...result, ms: performance.now() - started })}\n`)
try {
  const response = await client.embedding(request.request)
  print({
    ok: true,
    vectors: response.data.map((d) => [
      d.index,
      (d.embedding as Array<number>).length,
      (d.embedding as Array<number>)[0]
    ])
  })
} catch (error) {
  const e = error as { readonly _tag?: unknown; readonly message?: unknown }
  print({ ok: false, tag: e._tag ?? (error as Error).name, message: String(e.message) })
}
await client.dispose()
