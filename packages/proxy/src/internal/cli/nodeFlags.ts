/**
 * The V8 flags `bedrock-embed embed` runs with.
 *
 * V8 sizes its young generation by the machine's memory: on 16 GiB and more, semi-spaces of up
 * to 64 MB, 128 MB of RSS in all. The bulk command allocates fast (a response body, its vectors
 * and their output line per input) but keeps little alive between two scavenges, so a young
 * generation of 2 × 8 MB collects the same garbage, as fast, in a fraction of the memory: 100 000
 * docs peaked at 364 MB with V8's default and at 251 MB with 8 MB (`pnpm bench scale`).
 *
 * `bin.ts` re-executes itself with these flags (`process.execve`: the same process, before
 * anything is loaded) where Node has it (22.15+, 23.11+ on POSIX); flags the user gave, on the
 * command line or in `NODE_OPTIONS`, are kept and win.
 *
 * @since 0.1.0
 */

/** The young generation's semi-space size for `embed`, in MB. */
const SEMI_SPACE_MB = 8

/**
 * The flags to restart with: none unless the command is `embed` and the young generation's size
 * is not set already.
 */
export const embedNodeFlags = (
  argv: ReadonlyArray<string>,
  execArgv: ReadonlyArray<string>,
  nodeOptions: string | undefined
): ReadonlyArray<string> => {
  if (argv[2] !== "embed") return []
  const given = [...execArgv, ...(nodeOptions ?? "").split(/\s+/)]
  if (given.some((flag) => /^--(max|min)[-_]semi[-_]space[-_]size/.test(flag))) return []
  return [`--max-semi-space-size=${SEMI_SPACE_MB}`]
}
