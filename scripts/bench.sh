#!/usr/bin/env bash
# Measures what the walking skeleton promises (bundle sizes, server binary size, RSS after
# start, page latency) and writes them into BENCHMARKS.md between the skeleton markers.
# BENCH_COLD_BUILD=1 also times a cold `cargo leptos build --release` in a fresh target dir.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
BIN="${CACHEPANEL_BIN:?CACHEPANEL_BIN must name the release server binary}"
SITE="${SITE_ROOT:-$ROOT/target/site}"
OUT=BENCHMARKS.md
# BENCH_SECTIONS="viewers flush" runs only those sections (default: all of them).
want() { [ -z "${BENCH_SECTIONS:-}" ] || [[ " $BENCH_SECTIONS " == *" $1 "* ]]; }

wasm="$SITE/pkg/cachepanel.wasm"
js="$SITE/pkg/cachepanel.js"
size() { stat -c %s "$1"; }
gz() { gzip -9 -c "$1" | wc -c; }

cold_row="| cold release build (both halves) | not measured in this run (BENCH_COLD_BUILD=1) | |"
if [ "${BENCH_COLD_BUILD:-0}" = 1 ]; then
  cold_dir=$(mktemp -d)
  start=$(date +%s)
  CARGO_TARGET_DIR="$cold_dir" cargo leptos build --release >/dev/null 2>&1
  cold_row="| cold release build (both halves) | $(( $(date +%s) - start )) s | \`CARGO_TARGET_DIR=\$(mktemp -d) cargo leptos build --release\` |"
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

if want skeleton; then
# Start the server against a private redis-server and read its RSS once it answers.
redis_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
app_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
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
  CACHEPANEL_SITE_ROOT="$SITE" CACHEPANEL_LOG=warn "$BIN" >/dev/null &
app_pid=$!
trap 'kill $app_pid $redis_pid 2>/dev/null || true; rm -rf "$redis_dir"' EXIT
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$app_port/healthz" >/dev/null && break; sleep 0.05; done
rss_start=$(awk '/VmRSS/{print $2}' /proc/$app_pid/status)
# 500 sequential page renders, timed by curl, then RSS again.
page_ms=$(for _ in $(seq 500); do curl -s -o /dev/null -w '%{time_total}\n' -H "Cookie: access_token=$token" "http://127.0.0.1:$app_port/admin/cache/stats"; done \
  | sort -n | awk '{a[NR]=$1} END {printf "%.2f / %.2f", a[int(NR*0.5)]*1000, a[int(NR*0.99)]*1000}')
rss_after=$(awk '/VmRSS/{print $2}' /proc/$app_pid/status)

section=$(cat <<MD
<!-- skeleton:start -->
## Walking skeleton (issue 2)

Measured by \`make bench\` (scripts/bench.sh) on $(date -u +%Y-%m-%d), $(nproc) cores, $(rustc --version | cut -d' ' -f1-2).

| what | value | command |
|---|---|---|
$cold_row
| WASM bundle (after wasm-opt) | $(size "$wasm") B raw, $(gz "$wasm") B gzip -9 | \`cargo leptos build --release\`; \`gzip -9 -c target/site/pkg/cachepanel.wasm \| wc -c\` |
| JS glue | $(size "$js") B raw, $(gz "$js") B gzip -9 | same |
| server binary (release, not stripped) | $(size "$BIN") B | \`stat -c %s \$CARGO_TARGET_DIR/release/cachepanel\` |
| server RSS after start | $rss_start KiB | \`VmRSS\` of /proc/PID/status once /healthz answers |
| server RSS after 500 page renders | $rss_after KiB | same, after the loop below |
| SSR page latency p50 / p99 (ms) | $page_ms | 500 sequential \`curl\` GETs of /admin/cache/stats (figures from the shared readers, no Redis command per view) |
<!-- skeleton:end -->
MD
)

splice skeleton "$section"
echo "$section"
kill $app_pid $redis_pid 2>/dev/null || true
fi

# Live stats: 1 vs 1000 event-stream subscribers, endpoint latency (release build).
ulimit -n 8192
run_section live cargo bench -q --features ssr --bench live
# Viewers: 1 and 20 people watching with 1M keys, against a SCAN rate_limit:* per view.
run_section viewers cargo bench -q --features ssr --bench viewers
# Key census: 250k and 1M keys, against a raw SCAN loop and KEYS *.
run_section census cargo bench -q --features ssr --bench census
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
