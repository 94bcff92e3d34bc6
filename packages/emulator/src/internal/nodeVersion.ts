/**
 * The Node.js version check `bin.ts` runs before it loads anything else. This module imports
 * nothing and uses no syntax newer than ES2022, so that an older Node can parse and run it and
 * print one line instead of a stack from deep inside a dependency.
 *
 * @since 0.1.0
 */

/**
 * The oldest Node.js major version the command line runs on (`engines.node` is `>=22`).
 *
 * @category constants
 * @since 0.1.0
 */
export const MINIMUM_NODE_MAJOR = 22

/**
 * The one line to print, and exit 1 with, when `version` (a `process.version` such as
 * `v20.20.2`) is older than {@link MINIMUM_NODE_MAJOR}; `undefined` when it is new enough or
 * is not a version this check can read (other runtimes are let through).
 *
 * @category checks
 * @since 0.1.0
 */
export const nodeTooOld = (bin: string, version: string): string | undefined => {
  const major = /^v?(\d+)\./.exec(version)?.[1]
  if (major === undefined || Number(major) >= MINIMUM_NODE_MAJOR) return undefined
  return `${bin} needs Node.js ${MINIMUM_NODE_MAJOR} or newer (this is ${version}); install Node ${MINIMUM_NODE_MAJOR}+ and run it again`
}
