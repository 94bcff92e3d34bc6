#!/bin/sh
# Runs the project's Node as this very process: `sh scripts/exec-node.sh FILE ARGS…`.
#
# Why: `node` in a package script is `node_modules/.bin/node`, the shim of the `node` package
# (the project's pinned Node). The shim starts the real binary as a CHILD and does not forward
# signals, so a SIGTERM or Ctrl-C sent to `pnpm start` killed the shim and left the gateway
# running on its port, and a `kill -9` of the shim left an embedder writing. Here the shim is
# asked once where the real binary is (`process.execPath`), then this shell is replaced by it
# (`exec`): the process pnpm signals is Node itself. The root scripts start with `exec` too, so
# pnpm's `sh -c` does not stay in between either.
set -e
real=$(node -p process.execPath)
exec "$real" "$@"
