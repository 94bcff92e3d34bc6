/**
 * The dashboard's front-end: one JS and one CSS file, bundled by esbuild from
 * `packages/proxy/ui/` (Preact components, uPlot charts, a canvas heatmap).
 *
 * Where they come from depends on how the gateway runs, and never on what happens to lie on
 * disk: run from `src` (the workspace, tests), they are bundled from the front-end source on the
 * first request, in memory, so they always match it; run from `dist` (the published package, the
 * Docker image), they are read from `dist/ui/`, which the package's build writes (`build.ts`) and
 * its tarball ships, so a user's install needs neither esbuild nor the front-end's source.
 *
 * @internal
 */
import { readFile } from "node:fs/promises"
import { fileURLToPath } from "node:url"

/** The bundle the page loads. */
export interface Assets {
  readonly js: Uint8Array
  readonly css: Uint8Array
}

// This file is src/internal/ui/assets.ts or dist/internal/ui/assets.js: the package is three up.
const packageRoot = new URL("../../../", import.meta.url)
const fromSource = import.meta.url.endsWith(".ts")

/** Bundles the front-end source with esbuild (a dev dependency: only the workspace has it). */
export const bundle = async (): Promise<Assets> => {
  const esbuild = await import("esbuild")
  const result = await esbuild.build({
    absWorkingDir: fileURLToPath(packageRoot),
    entryPoints: ["ui/app.tsx"],
    bundle: true,
    write: false,
    outdir: "dist/ui",
    entryNames: "app",
    format: "esm",
    target: "es2022",
    minify: true,
    jsx: "automatic",
    jsxImportSource: "preact",
    legalComments: "eof",
    logLevel: "silent"
  })
  const named = (ending: string) => {
    const file = result.outputFiles.find((output) => output.path.endsWith(ending))
    if (file === undefined) throw new Error(`esbuild wrote no ${ending}`)
    return file.contents
  }
  return { js: named("app.js"), css: named("app.css") }
}

/** The prebuilt bundle in `dist/ui/`, or an error that says how to build it. */
const prebuilt = async (): Promise<Assets> => {
  const read = (name: string) => readFile(new URL(`dist/ui/${name}`, packageRoot))
  try {
    const [js, css] = await Promise.all([read("app.js"), read("app.css")])
    return { js, css }
  } catch {
    throw new Error(
      "The dashboard's bundle is missing from dist/ui/: build the package (pnpm run build in packages/proxy)."
    )
  }
}

let loaded: Promise<Assets> | undefined

/** The bundle, made or read once per process (a failure is retried on the next request). */
export const assets = (): Promise<Assets> => {
  if (loaded === undefined) {
    loaded = (fromSource ? bundle() : prebuilt()).catch((cause: unknown) => {
      loaded = undefined
      throw cause
    })
  }
  return loaded
}
