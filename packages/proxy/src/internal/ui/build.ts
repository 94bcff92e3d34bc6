/**
 * Writes the dashboard's bundle to `dist/ui/` (`app.js`, `app.css`): run by the package's
 * `build` and `prepack` scripts, so the tarball ships it.
 *
 * @internal
 */
import { mkdir, writeFile } from "node:fs/promises"
import { bundle } from "./assets.ts"

const out = new URL("../../../dist/ui/", import.meta.url)
const { js, css } = await bundle()
await mkdir(out, { recursive: true })
await writeFile(new URL("app.js", out), js)
await writeFile(new URL("app.css", out), css)
process.stdout.write(`dashboard bundle: dist/ui/app.js ${js.length} B, dist/ui/app.css ${css.length} B\n`)
