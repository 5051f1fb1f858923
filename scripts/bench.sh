#!/usr/bin/env bash
# Measures what the walking skeleton promises (bundle sizes, server binary size, RSS after
# start, page latency) and writes them into BENCHMARKS.md between the skeleton markers.
# BENCH_COLD_BUILD=1 also times a cold `make build` (`cargo leptos build --release --precompress --split`)
# in a fresh target dir.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
BIN="${CACHEPANEL_BIN:?CACHEPANEL_BIN must name the release server binary}"
SITE="${SITE_ROOT:-$ROOT/target/site}"
OUT=BENCHMARKS.md
# BENCH_SECTIONS="viewers flush" runs only those sections (default: all of them but
# `redesign`, which builds a second tree and runs only when named or with BENCH_REDESIGN=1).
want() { [ -z "${BENCH_SECTIONS:-}" ] || [[ " $BENCH_SECTIONS " == *" $1 "* ]]; }
want_named() { [[ " ${BENCH_SECTIONS:-} " == *" $1 "* ]] || [ "${BENCH_REDESIGN:-0}" = 1 ]; }

# The client file of kind $2 (wasm, js, css) in site $1: content-hashed names come from the
# site's hash.txt (make build copies it there), plain names otherwise.
client_file() {
  local hash
  hash=$(awk -F': *' -v kind="$2" '$1 == kind { print $2 }' "$1/hash.txt" 2>/dev/null)
  if [ -n "$hash" ]; then echo "$1/pkg/cachepanel.$hash.$2"; else echo "$1/pkg/cachepanel.$2"; fi
}
wasm=$(client_file "$SITE" wasm)
js=$(client_file "$SITE" js)
size() { stat -c %s "$1"; }
gz() { gzip -9 -c "$1" | wc -c; }
# The brotli twin's size as served (`--precompress`), or "—" without one.
br() { if [ -f "$1.br" ]; then stat -c %s "$1.br"; else echo "—"; fi; }

cold_row="| cold release build (both halves) | not measured in this run (BENCH_COLD_BUILD=1) | |"
if [ "${BENCH_COLD_BUILD:-0}" = 1 ]; then
  cold_dir=$(mktemp -d)
  start=$(date +%s)
  CARGO_TARGET_DIR="$cold_dir" cargo leptos build --release --precompress --split >/dev/null 2>&1
  cold_row="| cold release build (both halves) | $(( $(date +%s) - start )) s | \`CARGO_TARGET_DIR=\$(mktemp -d) cargo leptos build --release --precompress --split\` |"
  rm -rf "$cold_dir"
fi

# Replaces the section between <!-- NAME:start --> and <!-- NAME:end --> (or appends it).
splice() {
  python3 - "$OUT" "$1" "$2" <<'PY'
import re, sys
path, name, section = sys.argv[1], sys.argv[2], sys.argv[3]
try:
    text = open(path).read()
except FileNotFoundError:
    text = "# Benchmarks\n\nEvery number here is written by `make bench` on this project's machine kind (2 cores); each section names the command that produced it.\n"
pattern = re.compile(rf"<!-- {name}:start -->.*?<!-- {name}:end -->", re.S)
if pattern.search(text):
    text = pattern.sub(lambda _: section.strip(), text)
else:
    text = text.rstrip() + "\n\n" + section.strip() + "\n"
open(path, "w").write(text)
PY
}

# Runs the command after NAME and splices the <!-- NAME --> section it prints.
run_section() {
  local name=$1 text
  shift
  want "$name" || return 0
  text=$("$@" 2>/dev/null | sed -n "/<!-- $name:start -->/,/<!-- $name:end -->/p")
  [ -n "$text" ] || { echo "bench: the $name benchmark printed no section" >&2; exit 1; }
  splice "$name" "$text"
  echo "$text"
}

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# Starts server binary $1 (site $2) against a private redis-server; sets app_pid, redis_pid,
# app_port and token (a superadmin session) and waits until /healthz answers.
start_app() {
  local bin=$1 site=$2 redis_port jwt_secret
  redis_port=$(free_port)
  app_port=$(free_port)
  redis_dir=$(mktemp -d)
  redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly no --dir "$redis_dir" >/dev/null &
  redis_pid=$!
  # A superadmin session, minted like the admin mints it (HS256 over the JWT's two parts).
  jwt_secret="bench-secret-$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
  token=$(python3 - "$jwt_secret" <<'PY'
import base64, hashlib, hmac, json, sys, time
b64 = lambda data: base64.urlsafe_b64encode(data).rstrip(b"=").decode()
now = int(time.time())
head = b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
body = b64(json.dumps({"sub": "1", "role": "superadmin", "iat": now, "exp": now + 86400}).encode())
signature = hmac.new(sys.argv[1].encode(), f"{head}.{body}".encode(), hashlib.sha256).digest()
print(f"{head}.{body}.{b64(signature)}")
PY
)
  CACHEPANEL_REDIS_URL="redis://127.0.0.1:$redis_port" CACHEPANEL_ADDR="127.0.0.1:$app_port" \
    CACHEPANEL_JWT_SECRET="$jwt_secret" CACHEPANEL_RATE_LIMIT_ENABLED=false \
    CACHEPANEL_SITE_ROOT="$site" CACHEPANEL_LOG=warn "$bin" >/dev/null &
  app_pid=$!
  trap 'kill $app_pid $redis_pid 2>/dev/null || true; rm -rf "$redis_dir"' EXIT
  for _ in $(seq 100); do curl -sf "http://127.0.0.1:$app_port/healthz" >/dev/null && break; sleep 0.05; done
}

stop_app() { kill "$app_pid" "$redis_pid" 2>/dev/null || true; wait "$app_pid" "$redis_pid" 2>/dev/null || true; rm -rf "$redis_dir"; }

# 500 sequential page renders of the started app, timed by curl: "p50 / p99" in ms.
page_loop() {
  for _ in $(seq 500); do curl -s -o /dev/null -w '%{time_total}\n' -H "Cookie: access_token=$token" "http://127.0.0.1:$app_port/admin/cache/stats"; done \
    | sort -n | awk '{a[NR]=$1} END {printf "%.2f / %.2f", a[int(NR*0.5)]*1000, a[int(NR*0.99)]*1000}'
}

# Page latency of server binary $1 with site $2, on an app of its own.
page_latency() { start_app "$1" "$2"; page_loop; stop_app; }

if want skeleton; then
start_app "$BIN" "$SITE"
rss_start=$(awk '/VmRSS/{print $2}' /proc/$app_pid/status)
page_ms=$(page_loop)
rss_after=$(awk '/VmRSS/{print $2}' /proc/$app_pid/status)

section=$(cat <<MD
<!-- skeleton:start -->
## Walking skeleton (issue 2)

Measured by \`make bench\` (scripts/bench.sh) on $(date -u +%Y-%m-%d), $(nproc) cores, $(rustc --version | cut -d' ' -f1-2).

| what | value | command |
|---|---|---|
$cold_row
| WASM bundle (after wasm-opt) | $(size "$wasm") B raw, $(br "$wasm") B brotli as served, $(gz "$wasm") B gzip -9 | \`make build\`; the \`.br\` twin; \`gzip -9 -c\` of the file |
| JS glue | $(size "$js") B raw, $(br "$js") B brotli as served, $(gz "$js") B gzip -9 | same |
| server binary (release, not stripped) | $(size "$BIN") B | \`stat -c %s \$CARGO_TARGET_DIR/release/cachepanel\` |
| server RSS after start | $rss_start KiB | \`VmRSS\` of /proc/PID/status once /healthz answers |
| server RSS after 500 page renders | $rss_after KiB | same, after the loop below |
| SSR page latency p50 / p99 (ms) | $page_ms | 500 sequential \`curl\` GETs of /admin/cache/stats (figures from the shared readers, no Redis command per view) |
<!-- skeleton:end -->
MD
)

splice skeleton "$section"
echo "$section"
stop_app
fi

# Client delivery (issue 15): first and repeat page loads in Chromium, unthrottled and under a
# slow profile, for this build and for the build before the client work (BENCH_CLIENT_BASELINE_REF),
# which is built once into a cache dir of its own and kept for later runs.
if want client; then
  base_ref=${BENCH_CLIENT_BASELINE_REF:-ef77e5c}
  base_dir="${CACHEPANEL_STATE_DIR:-$HOME/.cache/cachepanel}/client-baseline-$base_ref"
  if [ ! -x "$base_dir/cachepanel" ] || [ ! -d "$base_dir/site" ]; then
    rm -rf "$base_dir"
    mkdir -p "$base_dir"
    git worktree add --detach --force "$base_dir/tree" "$base_ref" >/dev/null 2>&1
    CARGO_TARGET_DIR="$base_dir/target" make -C "$base_dir/tree" build >/dev/null 2>&1
    cp "$base_dir/target/release/cachepanel" "$base_dir/cachepanel"
    cp -r "$base_dir/tree/target/site" "$base_dir/site"
    git worktree remove --force "$base_dir/tree" >/dev/null 2>&1 || true
    rm -rf "$base_dir/target"
  fi
  loads=$(node end2end/load-bench.mjs "before=$base_dir/cachepanel:$base_dir/site" "after=$BIN:$SITE")
  served_wasm=$(br "$wasm")
  section=$(python3 - "$base_ref" "$(git rev-parse --short HEAD)" "$served_wasm" <<PY
import json, sys
base_ref, head, served_wasm = sys.argv[1:4]
runs = {run["label"]: run for run in map(json.loads, """$loads""".strip().splitlines())}
before, after = runs["before"], runs["after"]
kb = lambda b: "—" if b is None else f"{b / 1000:.1f} kB"
ms = lambda v: "—" if v is None else f"{v:.0f} ms"
def ratio(a, b):
    return "—" if not a or b is None else f"{b / a:.2f}×"
rows = []
for profile in ("unthrottled", "throttled"):
    for key, label, fmt in (
        ("first_total_bytes", "first load until hydrated: bytes on the wire", kb),
        ("first_wasm_bytes", "first load: initial WASM on the wire", kb),
        ("first_chunk_bytes", "chart chunk on the wire (fetched at the first live update)", kb),
        ("first_with_chunk_bytes", "first load with the chart chunk", kb),
        ("repeat_static_bytes", "repeat load: WASM/JS/CSS on the wire", kb),
        ("first_paint_ms", "first contentful paint", ms),
        ("hydrated_ms", "hydration mark (first load)", ms),
        ("repeat_hydrated_ms", "hydration mark (repeat load)", ms),
    ):
        b, a = before[profile].get(key), after[profile].get(key)
        rows.append(f"| {profile} | {label} | {fmt(b)} | {fmt(a)} | {ratio(b, a)} |")
print(f"""<!-- client:start -->
## Client delivery (issue 15)

Measured by \`make bench\` (\`end2end/load-bench.mjs\`): headless Chromium through playwright-core, the dashboard (\`/admin/cache/stats?lang=ru\`, demo workload, signed in), {int(__import__('os').environ.get('BENCH_LOADS', '5'))} first loads (fresh browser profile) and as many repeat loads (a new navigation in the same profile) per row, medians. Throttled: 4× CPU slowdown (CDP \`Emulation.setCPUThrottlingRate\`), 10 Mbit/s down, 5 Mbit/s up, 40 ms RTT (CDP \`Network.emulateNetworkConditions\`). Before: the build at \`{base_ref}\` (before the client work); after: this build ({head}), in the same run. Bytes are the encoded bytes per response (headers included), the event stream left out; the chart chunk is waited for after hydration and counted on its own row (the build before the client work had none).

| profile | what | before | after | after / before |
|---|---|---|---|---|
""" + "\n".join(rows) + f"""

Initial WASM as served (brotli twin): {served_wasm} B. Goals: initial WASM ≤ 250 kB brotli; a first load ≤ 450 kB; a repeat load 0 B of WASM/JS/CSS; hydration mark ≤ 1.0 s throttled.
<!-- client:end -->""")
PY
)
  splice client "$section"
  echo "$section"
fi

# Live stats: 1 vs 1000 event-stream subscribers, endpoint latency (release build).
# 10k idle clients in the sampler section need more descriptors than that.
ulimit -Sn "$(ulimit -Hn)" 2>/dev/null || ulimit -n 8192
run_section live cargo bench -q --features ssr --bench live
# Viewers: 1 and 20 people watching with 1M keys, against a SCAN rate_limit:* per view.
run_section viewers cargo bench -q --features ssr --bench viewers
# Sampler: what one sample costs Redis (INFO commandstats usec), before/now, 1, 1k and 10k clients.
run_section sampler cargo bench -q --features ssr --bench sampler
# Key census: 250k and 1M keys, against a raw SCAN loop and KEYS *.
run_section census cargo bench -q --features ssr --bench census
# Several replicas on one Redis (issue 18): commands per interval for 1, 2 and 4 release servers.
run_section replicas cargo bench -q --features ssr --bench replicas
# Scale-out: census and flush on a 3-master cluster vs one node with the same keyspace.
run_section cluster cargo bench -q --features ssr --bench cluster
# i18n: leptos_i18n's WASM cost against plain-struct texts, on one tiny page.
run_section i18n scripts/i18n-probe.sh
# Prefix flush: 1M keys, 20 % under the prefix, against SCAN+UNLINK, redis-cli | xargs, KEYS+DEL.
run_section flush cargo bench -q --features ssr --bench flush
# Rate limiter vs the Python `limits` library (PyPI) in a venv of its own.
if want rate-limit; then
  venv="${CACHEPANEL_STATE_DIR:-$HOME/.cache/cachepanel}/venv"
  [ -x "$venv/bin/python" ] || python3 -m venv "$venv"
  "$venv/bin/python" -c 'import limits, redis' 2>/dev/null || "$venv/bin/pip" install --quiet limits redis
  BENCH_PYTHON="$venv/bin/python" run_section rate-limit cargo bench -q --features ssr --bench rate_limit
fi

# The redesign (issue 14), before and after in this run: the tree at BENCH_BASELINE_REF (the
# last commit before the redesign) and this one, each cold-built in a fresh target dir, then
# each side's own census, flush and limiter benches and its page latency.
if want_named redesign; then
  venv="${CACHEPANEL_STATE_DIR:-$HOME/.cache/cachepanel}/venv"
  [ -x "$venv/bin/python" ] || python3 -m venv "$venv"
  "$venv/bin/python" -c 'import limits, redis' 2>/dev/null || "$venv/bin/pip" install --quiet limits redis
  base_ref=${BENCH_BASELINE_REF:-053ec6b}
  base_tree=$(mktemp -d)
  git worktree add --detach --force "$base_tree" "$base_ref" >/dev/null 2>&1
  # field N (1-based, split on '|') of the first row starting with $2 in section text $1
  cell() { printf '%s\n' "$1" | awk -F'|' -v start="$2" -v n="$3" 'index($0, start) == 1 { print $n; exit }'; }
  first_number() { grep -oE '[0-9]+(\.[0-9]+)?' | head -1; }
  measure_tree() {
    local tree=$1 target start cold bin site census flush limiter page
    target=$(mktemp -d)
    start=$(date +%s)
    # Each tree builds the way its own Makefile builds.
    CARGO_TARGET_DIR="$target" make -C "$tree" build >/dev/null 2>&1
    cold=$(( $(date +%s) - start ))
    bin="$target/release/cachepanel"
    site="$tree/target/site"
    census=$(cd "$tree" && CARGO_TARGET_DIR="$target" CACHEPANEL_BIN="$bin" cargo bench -q --features ssr --bench census 2>/dev/null)
    flush=$(cd "$tree" && CARGO_TARGET_DIR="$target" CACHEPANEL_BIN="$bin" cargo bench -q --features ssr --bench flush 2>/dev/null)
    limiter=$(cd "$tree" && CARGO_TARGET_DIR="$target" CACHEPANEL_BIN="$bin" BENCH_PYTHON="$venv/bin/python" cargo bench -q --features ssr --bench rate_limit 2>/dev/null)
    page=$(page_latency "$bin" "$site")
    local wasm_file
    wasm_file=$(client_file "$site" wasm)
    printf '%s;%s;%s;%s;%s;%s;%s;%s\n' "$cold" "$(size "$wasm_file")" "$(gz "$wasm_file")" \
      "$(size "$bin")" "$(cell "$census" '| 1000000 |' 4 | first_number)" "$(cell "$flush" '| cachepanel flush' 4 | first_number)" \
      "$(cell "$limiter" '| 16 |' 3 | first_number)" "$page"
    rm -rf "$target"
  }
  before=$(measure_tree "$base_tree")
  after=$(measure_tree "$ROOT")
  git worktree remove --force "$base_tree" >/dev/null 2>&1 || rm -rf "$base_tree"
  row() {  # label, field index, unit, decimals of the ratio
    local b a
    b=$(echo "$before" | cut -d';' -f"$2"); a=$(echo "$after" | cut -d';' -f"$2")
    echo "| $1 | $b$3 | $a$3 | $(python3 -c "print(f'{$a / $b:.2f}×' if float('$b') else '—')") |"
  }
  page_before=$(echo "$before" | cut -d';' -f8); page_after=$(echo "$after" | cut -d';' -f8)
  section=$(cat <<MD
<!-- redesign:start -->
## The redesign step (issue 14): before and after

Measured by \`make bench BENCH_SECTIONS=redesign\` (scripts/bench.sh) on $(date -u +%Y-%m-%d), $(nproc) cores: the tree at \`$base_ref\` (the last commit before the redesign) and this one ($(git rev-parse --short HEAD)), one after the other in this run. Each side is cold-built in a fresh target dir by its own \`make build\`, then runs its own census, flush and limiter benches (the sections above, same workloads) and 500 sequential page GETs.

| what | before | after | after / before |
|---|---|---|---|
$(row "cold release build (both halves)" 1 " s")
$(row "WASM bundle, raw" 2 " B")
$(row "WASM bundle, gzip -9" 3 " B")
$(row "server binary (release)" 4 " B")
$(row "census, 1000000 keys (keys/s)" 5 "")
$(row "flush of 200000 keys under \`user:\` (keys/s)" 6 "")
$(row "limiter, 16 clients (decisions/s)" 7 "")
| SSR page p50 / p99 (ms) | $page_before | $page_after | |
<!-- redesign:end -->
MD
)
  splice redesign "$section"
  echo "$section"
fi

# The benches above rebuild the release binary with cargo's plain settings: the page must still
# name client files the site holds and hydrate (hash.txt is read at run time).
if want client; then
  BENCH_LOADS=1 BENCH_PROFILES=unthrottled node end2end/load-bench.mjs "check=$BIN:$SITE" >/dev/null \
    || { echo "bench: the page no longer hydrates after the benches" >&2; exit 1; }
fi

