#!/usr/bin/env bash
# The consumer smoke: the packages as a user installs them, never the workspace.
#
#   bash scripts/consumer-smoke.sh        (after `pnpm install` and `pnpm run build`)
#
#  1. packs every public package with pnpm (publishConfig applied), prints names and sizes, and
#     checks what each tarball holds (README, LICENSE, bins as .js files inside, no .tsbuildinfo);
#  2. installs the tarballs with npm into a fresh `npm init -y` project, with the peers a user adds;
#  3. starts the emulator from the installed `bedrock-embed-emulator` bin;
#  4. runs scripts/consumer/smoke.mjs (ESM import + a call, the LangChain, AI SDK and Effect AI
#     adapters, each embedding once) and require.cjs (require(esm)) there with Node 24;
#  5. `tsc --noEmit` of scripts/consumer/types.ts under moduleResolution bundler and nodenext;
#  6. `bedrock-embed serve --port 0` (demo mode) + one POST /v1/embeddings + SIGTERM → exit 0;
#  7. the Dockerfile's ENTRYPOINT + CMD, read from the file, with /app → the project and
#     /config/config.yaml → a config on the emulator with a master key: HEALTHCHECK's path → 200, one
#     embedding, the dashboard's page and bundle (/ui, /ui/app.js, shipped prebuilt) → 200, SIGTERM → 0;
#  8. both bins on the machine's Node 20 → exit 1 and one stderr line naming Node 22;
#  9. the release path on a copy of the tree: `changeset version`, then `pnpm publish -r --dry-run`.
#
# One PASS/FAIL line per check, with its figure; exits 1 if any check failed. Temporary
# directories and every process it started are removed/stopped on exit (CONSUMER_SMOKE_KEEP=1 keeps
# the directories, to look into a failure).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

export COREPACK_INTEGRITY_KEYS=0
NODE24=$(node_modules/.bin/node -p process.execPath)
NODE24_DIR=$(dirname "$NODE24")
# A user's environment, not a package script's: no node_modules/.bin on PATH (under `pnpm run`,
# `node` there is the project's Node 24), no npm_* settings pnpm exports to its scripts, no token.
PATH=$(echo "$PATH" | tr ':' '\n' | grep -v '/node_modules' | paste -sd:)
export PATH
while read -r var; do unset "$var"; done < <(compgen -e | grep -E '^npm_|^PNPM_SCRIPT_SRC_DIR$|^NPM_TOKEN$|^NODE_AUTH_TOKEN$' || true)
SYSTEM_NODE=$(command -v node)
TSC_VERSION='~6.0.3'
PNPM_SPEC=pnpm@10.34.9
# The emulator's fixed identity (its EMULATOR_CREDENTIALS) and region.
EMU_KEY=S3RVER
EMU_REGION=us-east-1
TITAN=amazon.titan-embed-text-v2:0

TMP=$(mktemp -d)
# Whatever a child puts in the temporary directory (the emulator's S3 buckets, …) goes with this one.
mkdir "$TMP/tmp"
export TMPDIR=$TMP/tmp
PIDS_FILE=$TMP/pids
: >"$PIDS_FILE"
STARTED=$SECONDS

cleanup() {
  local pid
  # Only processes this script started and that still run in its directories (a pid may be reused).
  while read -r pid; do
    if [[ $(readlink "/proc/$pid/cwd" 2>/dev/null) == "$TMP"* ]]; then kill "$pid" 2>/dev/null || true; fi
  done <"$PIDS_FILE"
  if [ "${CONSUMER_SMOKE_KEEP:-}" = 1 ]; then echo "consumer smoke: kept $TMP" >&2; else rm -rf "$TMP"; fi
}
trap cleanup EXIT

# --- reporting ---------------------------------------------------------------------------------

FAILED=()
ms_since() { echo $((($(date +%s%N) - $1) / 1000000)); }
note() { echo "$*" >"$TMP/note"; }
# run_check NAME FUNCTION: FUNCTION runs in a subshell with `set -e`; its last `note` is the figure.
run_check() {
  local name=$1 t0 rc
  shift
  t0=$(date +%s%N)
  echo "(failed before its figure)" >"$TMP/note"
  set +e
  (
    set -e
    "$@"
  )
  rc=$?
  set -e
  if [ "$rc" -eq 0 ]; then
    echo "PASS $name: $(cat "$TMP/note") ($(ms_since "$t0") ms)"
  else
    echo "FAIL $name: $(cat "$TMP/note") (rc $rc, $(ms_since "$t0") ms)"
    FAILED+=("$name")
  fi
}
# A check that everything after it needs: stop here when it fails.
require_check() {
  local before=${#FAILED[@]}
  run_check "$@"
  if [ "${#FAILED[@]}" -gt "$before" ]; then
    echo "consumer smoke: stopped, '$1' failed" >&2
    exit 1
  fi
}
die() {
  note "$*"
  exit 1
}

# --- processes ---------------------------------------------------------------------------------

# start_bg LOG CMD...: starts CMD (its pid is CMD's own: no shell in between), records the pid.
start_bg() {
  local log=$1
  shift
  "$@" >"$log" 2>"$log.err" &
  echo $! >>"$PIDS_FILE"
  BG_PID=$!
}
# first_lines FILE: its first lines that say something (the error, not the stack's end), on one line.
first_lines() { grep -vE '^\s*(at |$)' "$1" | head -4 | tr '\n' ' ' | cut -c1-500; }
# wait_banner PID LOG: the first `listening on http://…` URL the process prints, within 30 s.
wait_banner() {
  local pid=$1 log=$2 i url
  for ((i = 0; i < 600; i++)); do
    url=$(grep -aoE 'listening on http://[^ ]+' "$log" 2>/dev/null | head -1 | sed 's/^listening on //' || true)
    if [ -n "$url" ]; then
      echo "$url"
      return 0
    fi
    if ! kill -0 "$pid" 2>/dev/null; then
      die "exited before its banner: $(first_lines "$log.err")"
    fi
    sleep 0.05
  done
  die "no 'listening on http://' banner within 30 s"
}
# stop PID: SIGTERM, then the exit code within 10 s (124 if it is still running: killed then).
stop() {
  local pid=$1 i
  kill -TERM "$pid"
  for ((i = 0; i < 200; i++)); do
    if ! kill -0 "$pid" 2>/dev/null; then
      wait "$pid" && return 0 || return $?
    fi
    sleep 0.05
  done
  kill -KILL "$pid" 2>/dev/null || true
  return 124
}
# http METHOD URL [BODY]: prints "<status> <body>".
http() {
  "$NODE24" -e '
    const [method, url, body] = process.argv.slice(1)
    const key = process.env.SMOKE_KEY
    const headers = { "content-type": "application/json", ...(key ? { authorization: `Bearer ${key}` } : {}) }
    fetch(url, { method, headers, body, signal: AbortSignal.timeout(15000) })
      .then(async (r) => console.log(r.status, await r.text()))
      .catch((e) => { console.log(0, String(e)); process.exitCode = 1 })
  ' "$@"
}
# embeddings_count JSON: the number of embeddings of an OpenAI embeddings response (0 if none).
embeddings_count() {
  "$NODE24" -e 'try { const r = JSON.parse(process.argv[1]); console.log(r.data.filter((d) => d.embedding.length > 0).length) } catch { console.log(0) }' "$1"
}
# post_embeddings BASE MODEL: one POST /v1/embeddings of two inputs → 200 and 2 embeddings.
post_embeddings() {
  local out status body count
  out=$(http POST "$1/v1/embeddings" "{\"model\":\"$2\",\"input\":[\"hello\",\"world\"]}")
  status=${out%% *}
  body=${out#* }
  [ "$status" = 200 ] || die "POST /v1/embeddings → $status ${body:0:300}"
  count=$(embeddings_count "$body")
  [ "$count" = 2 ] || die "POST /v1/embeddings → $count embeddings, expected 2: ${body:0:300}"
}
port_of() { echo "$1" | sed -E 's#^http://[^/]*:([0-9]+).*#\1#'; }

# --- 1. pack -----------------------------------------------------------------------------------

PNPM=$(npx -y -p "$PNPM_SPEC" -c 'command -v pnpm')
TARBALLS=$TMP/tarballs
PUBLIC_DIRS=()

pack() {
  local dir filters=() count total
  for dir in "${PUBLIC_DIRS[@]}"; do filters+=(--filter "./$dir"); done
  mkdir -p "$TARBALLS"
  # One pnpm run for all of them; pnpm applies each package's publishConfig as `pnpm publish` does.
  "$PNPM" "${filters[@]}" pack --pack-destination "$TARBALLS" >"$TMP/pack.log" 2>&1 ||
    die "pnpm pack: $(grep -v WARN "$TMP/pack.log" | tail -5 | tr '\n' ' ')"
  count=$(find "$TARBALLS" -name '*.tgz' | wc -l)
  [ "$count" -eq "${#PUBLIC_DIRS[@]}" ] || die "$count tarballs for ${#PUBLIC_DIRS[@]} public packages"
  local f
  for f in "$TARBALLS"/*.tgz; do
    awk -v name="${f##*/}" -v packed="$(wc -c <"$f")" -v unpacked="$(gzip -dc "$f" | wc -c)" \
      'BEGIN { printf "  %-46s %7.1f kB packed %8.1f kB tar\n", name, packed / 1000, unpacked / 1000 }'
  done
  total=$(cat "$TARBALLS"/*.tgz | wc -c)
  note "$count tarballs, $((total / 1000)) kB packed in all"
}
# Every packages/* and packages/integrations/* whose package.json is not private.
for dir in packages/*/ packages/integrations/*/; do
  dir=${dir%/}
  [ -f "$dir/package.json" ] || continue
  [ "$(node -p "require('./$dir/package.json').private === true")" = true ] || PUBLIC_DIRS+=("$dir")
done
require_check "pack every public package (${#PUBLIC_DIRS[@]})" pack

# What each tarball holds: its README and LICENSE, its bins as JavaScript, no build caches.
contents() {
  local f problems=()
  for f in "$TARBALLS"/*.tgz; do
    problems+=("$("$NODE24" -e '
      const { execFileSync } = require("child_process")
      const [file] = process.argv.slice(1)
      const entries = new Set(execFileSync("tar", ["-tzf", file], { encoding: "utf8" }).split("\n").filter(Boolean))
      const pkg = JSON.parse(execFileSync("tar", ["-xzOf", file, "package/package.json"], { encoding: "utf8" }))
      const bins = typeof pkg.bin === "string" ? { [pkg.name]: pkg.bin } : (pkg.bin ?? {})
      const has = (path) => entries.has(`package/${path.replace(/^\.\//, "")}`)
      const problems = [
        ...["README.md", "LICENSE"].filter((f) => !has(f)).map((f) => `no ${f}`),
        ...[...entries].filter((e) => e.endsWith(".tsbuildinfo")).map((e) => e.slice(8)),
        ...Object.entries(bins).filter(([, target]) => !target.endsWith(".js") || !has(target)).map(([name, target]) => `bin ${name} → ${target}`)
      ]
      if (problems.length > 0) console.log(`${pkg.name}: ${problems.join(", ")}`)
    ' "$f")")
  done
  local listed
  listed=$(printf '%s\n' "${problems[@]}" | grep -v '^$' | paste -sd';' | sed 's/;/; /g' || true)
  [ -z "$listed" ] || die "$listed"
  note "${#problems[@]} tarballs, each with README.md and LICENSE, bins → .js files inside, no .tsbuildinfo"
}
run_check "tarball contents" contents

# --- 2. install into a fresh npm project ---------------------------------------------------------

CONSUMER=$TMP/consumer
mkdir -p "$CONSUMER"
# The peers a user adds, at the ranges the workspace uses (root and packages' package.json).
range_of() { node -p "require('./package.json').devDependencies['$1']"; }
PEERS=("effect@$(range_of effect)" "ai@$(range_of ai)" "@langchain/core@$(range_of @langchain/core)"
  "typescript@$TSC_VERSION" "@types/node@$(range_of @types/node)")

install() {
  cd "$CONSUMER"
  npm init -y >/dev/null
  # ESM project: types.ts is then an ES module under nodenext, as in most TypeScript projects.
  npm pkg set type=module
  npm install --no-audit --no-fund --loglevel=error \
    "$TARBALLS"/*.tgz "${PEERS[@]}" >"$TMP/npm-install.log" 2>&1 || die "npm install: $(tail -20 "$TMP/npm-install.log")"
  local count links
  # Copies unpacked from the tarballs, not links back into the workspace.
  links=$(find node_modules/bedrock-embed node_modules/@bedrock-embed -maxdepth 1 -type l | wc -l)
  [ "$links" -eq 0 ] || die "$links of the packages are symlinks: $(find node_modules/@bedrock-embed -maxdepth 1 -type l)"
  count=$(node -p 'Object.keys(require("./package.json").dependencies).length')
  note "$count dependencies (${#PUBLIC_DIRS[@]} tarballs + ${PEERS[*]}) with npm $(npm --version)"
}
require_check "npm install of the tarballs into a fresh project" install
cd "$CONSUMER"
cp "$ROOT"/scripts/consumer/* "$CONSUMER"/

# --- 3. the emulator, from the installed bin -----------------------------------------------------

# Started from this shell (not a check's subshell) so that it can be waited for at the end.
t0=$(date +%s%N)
start_bg "$TMP/emulator.log" "$NODE24" node_modules/.bin/bedrock-embed-emulator --port 0
EMULATOR_PID=$BG_PID
if ! EMULATOR_URL=$(wait_banner "$EMULATOR_PID" "$TMP/emulator.log"); then
  echo "FAIL installed bedrock-embed-emulator starts: $(cat "$TMP/note")"
  exit 1
fi
echo "PASS installed bedrock-embed-emulator starts: $EMULATOR_URL, pid $EMULATOR_PID ($(ms_since "$t0") ms)"
export EMULATOR_URL

# --- 4. runtime: ESM, require(esm), the adapters -------------------------------------------------

# smoke.mjs prints its own PASS/FAIL line per check; its exit code is the number of failures.
# A file that cannot even load (an import that does not resolve) exits non-zero with no FAIL line.
for file in smoke.mjs require.cjs; do
  set +e
  timeout 120 "$NODE24" "$file"
  rc=$?
  set -e
  if [ "$rc" -ne 0 ]; then
    echo "FAIL $file: exit code $rc (its FAIL lines above, or it could not load)"
    FAILED+=("$file")
  fi
done

# --- 5. types ----------------------------------------------------------------------------------

typecheck() {
  local out
  out=$(timeout 120 "$NODE24" node_modules/typescript/bin/tsc -p "$1" 2>&1) || die "$(echo "$out" | head -15 | tr '\n' ' ')"
  note "0 errors, skipLibCheck $(grep -qE '"skipLibCheck": *true' "$1" && echo true || echo false), typescript $("$NODE24" -p 'require("./node_modules/typescript/package.json").version')"
}
# types.ts (bedrock-embed, core, the LangChain and Effect AI adapters) with skipLibCheck false;
# types-ai-sdk.ts (the AI SDK adapter with ai@7) with the lib check skipped: see its tsconfigs.
run_check "tsc --noEmit types.ts, module esnext + moduleResolution bundler" typecheck tsconfig.bundler.json
run_check "tsc --noEmit types.ts, module/moduleResolution nodenext" typecheck tsconfig.nodenext.json
run_check "tsc --noEmit types-ai-sdk.ts, module esnext + moduleResolution bundler" typecheck tsconfig.ai-sdk.bundler.json
run_check "tsc --noEmit types-ai-sdk.ts, module/moduleResolution nodenext" typecheck tsconfig.ai-sdk.nodenext.json

# --- 6. the gateway, demo mode -------------------------------------------------------------------

gateway_demo() {
  local url rc t0
  t0=$(date +%s%N)
  start_bg "$TMP/serve.log" "$NODE24" node_modules/.bin/bedrock-embed serve --port 0
  url=$(wait_banner "$BG_PID" "$TMP/serve.log")
  local ready_ms
  ready_ms=$(ms_since "$t0")
  post_embeddings "$url" "$TITAN"
  rc=0
  stop "$BG_PID" || rc=$?
  [ "$rc" -eq 0 ] || die "SIGTERM → exit code $rc (124: still running after 10 s): $(first_lines "$TMP/serve.log.err")"
  note "$url up in $ready_ms ms, 2 embeddings, SIGTERM → exit 0"
}
run_check "bedrock-embed serve --port 0 (demo) + POST /v1/embeddings + SIGTERM" gateway_demo

# --- 7. the Dockerfile's command -----------------------------------------------------------------

# The image stage's (the last FROM's) ENTRYPOINT and CMD exec-form arrays, NUL-separated; lines
# continued with a backslash are joined first, so HEALTHCHECK's own CMD is not taken for one.
docker_argv() {
  "$NODE24" -e '
    const text = require("fs").readFileSync(process.argv[1], "utf8")
    const lines = text.replace(/\\\n/g, " ").split("\n").map((l) => l.trim()).filter((l) => l !== "" && !l.startsWith("#"))
    const image = lines.slice(lines.findLastIndex((l) => /^FROM\s/i.test(l)))
    const argvOf = (instruction) => {
      const found = image.filter((l) => l.toUpperCase().startsWith(instruction + " "))
      if (found.length !== 1) throw new Error(`${found.length} ${instruction} instructions in the image stage, expected 1`)
      const argv = JSON.parse(found[0].slice(instruction.length + 1))
      if (!Array.isArray(argv) || !argv.every((a) => typeof a === "string")) throw new Error(`${instruction} is not an exec-form array`)
      return argv
    }
    process.stdout.write([...argvOf("ENTRYPOINT"), ...argvOf("CMD")].map((a) => a + "\0").join(""))
  ' "$ROOT/Dockerfile"
}
# The path HEALTHCHECK probes (http://127.0.0.1:<port>/<path>).
docker_health_path() {
  grep -aoE "http://127\.0\.0\.1:[0-9]+/[A-Za-z0-9/_-]+" "$ROOT/Dockerfile" | head -1 | sed -E 's#^http://[^/]+##'
}

dockerfile_command() {
  local argv=() run=() arg prev="" config=$TMP/config/config.yaml health url rc
  mapfile -d '' argv < <(docker_argv) || die "cannot read ENTRYPOINT/CMD from the Dockerfile"
  [ "${#argv[@]}" -gt 1 ] || die "cannot read ENTRYPOINT/CMD from the Dockerfile"
  [[ ${argv[0]} == /app/* ]] || die "ENTRYPOINT ${argv[0]} is not under WORKDIR /app"
  grep -q '^WORKDIR /app$' "$ROOT/Dockerfile" || die "the final stage's WORKDIR is not /app"
  health=$(docker_health_path)
  [ -n "$health" ] || die "no http://127.0.0.1:<port>/<path> in the Dockerfile's HEALTHCHECK"
  mkdir -p "$TMP/config"
  cat >"$config" <<YAML
model_list:
  - model_name: embed
    litellm_params:
      model: bedrock/$TITAN
      aws_bedrock_runtime_endpoint: $EMULATOR_URL
      aws_region_name: $EMU_REGION
      aws_access_key_id: $EMU_KEY
      aws_secret_access_key: $EMU_KEY
general_settings:
  master_key: sk-smoke-master
YAML
  # /app → the consumer project, /config/config.yaml → the config above, --port N → a free port.
  for arg in "${argv[@]}"; do
    if [ "$prev" = --port ]; then
      arg=0
    elif [ "$arg" = /config/config.yaml ]; then
      arg=$config
    elif [[ $arg == /app/* ]]; then
      arg=$CONSUMER/${arg#/app/}
    fi
    run+=("$arg")
    prev=$arg
  done
  grep -q -- "--config $config" <<<"${run[*]}" || die "CMD has no --config /config/config.yaml: ${argv[*]}"
  # The image's node is Node 24 and its ENV NODE_ENV=production; the bin runs through its shebang.
  start_bg "$TMP/docker.log" env PATH="$NODE24_DIR:$PATH" NODE_ENV=production "${run[@]}"
  url=$(wait_banner "$BG_PID" "$TMP/docker.log")
  url="http://127.0.0.1:$(port_of "$url")"
  local out
  out=$(http GET "$url$health")
  [ "${out%% *}" = 200 ] || die "GET $health → $out"
  SMOKE_KEY=sk-smoke-master post_embeddings "$url" embed
  # The dashboard's bundle ships in the tarball (dist/ui/, built by prepack): nothing is built at run time.
  out=$(http GET "$url/ui")
  [ "${out%% *}" = 200 ] && grep -q "/ui/app.js" <<<"$out" || die "GET /ui → ${out:0:200}"
  out=$(http GET "$url/ui/app.js")
  [ "${out%% *}" = 200 ] && [ "${#out}" -gt 20000 ] || die "GET /ui/app.js → ${out:0:200}"
  local js=${#out}
  rc=0
  stop "$BG_PID" || rc=$?
  [ "$rc" -eq 0 ] || die "SIGTERM → exit code $rc (124: still running after 10 s): $(first_lines "$TMP/docker.log.err")"
  note "${argv[*]} → GET $health 200, POST /v1/embeddings 200 x2, GET /ui 200, /ui/app.js 200 ($js bytes), SIGTERM → exit 0"
}
run_check "the Dockerfile's ENTRYPOINT + CMD" dockerfile_command

# --- 8. Node 20 --------------------------------------------------------------------------------

old_node() {
  local bin=$1 out rc=0 lines
  out=$(timeout 30 "$SYSTEM_NODE" "node_modules/.bin/$bin" --version 2>&1 >/dev/null) || rc=$?
  lines=$(printf '%s' "$out" | grep -c '' || true)
  [ "$rc" -eq 1 ] && [ "$lines" -eq 1 ] && grep -q 'Node.*22' <<<"$out" ||
    die "exit code $rc, $lines stderr line(s): $(echo "$out" | head -3 | tr '\n' ' ')"
  note "exit 1, \"$out\""
}
SYSTEM_NODE_VERSION=$("$SYSTEM_NODE" --version)
if [ "$("$SYSTEM_NODE" -p 'Number(process.versions.node.split(".")[0]) < 22')" = true ]; then
  run_check "bedrock-embed on the machine's Node $SYSTEM_NODE_VERSION" old_node bedrock-embed
  run_check "bedrock-embed-emulator on the machine's Node $SYSTEM_NODE_VERSION" old_node bedrock-embed-emulator
else
  # CI's machine has Node 20; elsewhere there may be no older Node to try the bins with.
  echo "SKIP the bins on Node < 22: the machine's node ($SYSTEM_NODE) is $SYSTEM_NODE_VERSION"
fi

rc=0
stop "$EMULATOR_PID" || rc=$?
if [ "$rc" -eq 0 ]; then
  echo "PASS installed bedrock-embed-emulator stops on SIGTERM: exit 0"
else
  echo "FAIL installed bedrock-embed-emulator stops on SIGTERM: exit code $rc (124: still running after 10 s)"
  FAILED+=("emulator SIGTERM")
fi

# --- 9. the release path -----------------------------------------------------------------------

# On a copy of the tree (the built dist/ included, node_modules and .git not): the repository is
# never touched, and no npm token can be used (empty user config, token variables unset).
release() {
  local copy=$TMP/release count published
  mkdir -p "$copy"
  tar -C "$ROOT" -c --exclude=./node_modules --exclude='*/node_modules' --exclude=./.git --exclude=./.tmp . |
    tar -x -C "$copy"
  cd "$copy"
  : >"$TMP/empty-npmrc"
  local pnpm=(env NPM_CONFIG_USERCONFIG="$TMP/empty-npmrc" PATH="$NODE24_DIR:$PATH" "$PNPM")
  "${pnpm[@]}" install --frozen-lockfile --offline >"$TMP/release-install.log" 2>&1 ||
    die "pnpm install --offline: $(grep -v WARN "$TMP/release-install.log" | tail -5 | tr '\n' ' ')"
  "${pnpm[@]}" changeset version >"$TMP/changeset.log" 2>&1 || die "changeset version: $(grep -v WARN "$TMP/changeset.log" | tail -5 | tr '\n' ' ')"
  local dir version versions=() changelogs=0
  for dir in "${PUBLIC_DIRS[@]}"; do
    version=$(node -p "require('./$dir/package.json').version")
    versions+=("$version")
    [ "$version" != 0.0.0 ] || die "changeset version left $dir at 0.0.0"
    [ -s "$dir/CHANGELOG.md" ] || die "changeset version wrote no $dir/CHANGELOG.md"
    changelogs=$((changelogs + 1))
  done
  # .changeset/config.json puts every package in one "fixed" group: one version for all.
  [ "$(printf '%s\n' "${versions[@]}" | sort -u | wc -l)" -eq 1 ] || die "versions differ: ${versions[*]}"
  [ "$(find .changeset -name '*.md' ! -name README.md | wc -l)" -eq 0 ] || die "changeset version left changesets behind"
  "${pnpm[@]}" publish -r --dry-run --no-git-checks >"$TMP/publish.log" 2>&1 ||
    die "publish -r --dry-run: $(grep -aiE 'ERR|error' "$TMP/publish.log" | head -5 | tr '\n' ' ')"
  published=$(grep -acE '^\+ ' "$TMP/publish.log" || true)
  count=${#PUBLIC_DIRS[@]}
  [ "$published" -eq "$count" ] || die "publish --dry-run listed $published packages, expected $count"
  note "changeset version → $version, $changelogs CHANGELOG.md; publish -r --dry-run: $published packages"
}
run_check "release path: changeset version + pnpm publish -r --dry-run (a copy of the tree)" release

# --- summary -----------------------------------------------------------------------------------

echo "consumer smoke: $((SECONDS - STARTED)) s wall"
if [ "${#FAILED[@]}" -gt 0 ]; then
  echo "consumer smoke FAILED: ${FAILED[*]}" >&2
  exit 1
fi
