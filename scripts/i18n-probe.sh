#!/usr/bin/env bash
# Builds benches/i18n_probe for wasm32 twice — texts as a plain struct (what cachepanel does)
# and through leptos_i18n — and prints a Markdown section with the sizes (raw, after
# wasm-opt -Oz, gzip -9).
set -euo pipefail
cd "$(dirname "$0")/../benches/i18n_probe"
target="${CARGO_TARGET_DIR:-$HOME/.cache/cachepanel/target}/i18n-probe"
wasm="$target/wasm32-unknown-unknown/release/i18n_probe.wasm"
measure() {
  CARGO_TARGET_DIR="$target" cargo build -q --release --target wasm32-unknown-unknown "$@" 2>/dev/null
  local optimized
  optimized=$(mktemp)
  wasm-opt -Oz --enable-bulk-memory --enable-nontrapping-float-to-int -o "$optimized" "$wasm"
  echo "$(stat -c %s "$wasm") $(stat -c %s "$optimized") $(gzip -9 -c "$optimized" | wc -c)"
  rm -f "$optimized"
}
read -r plain_raw plain_opt plain_gz < <(measure)
read -r i18n_raw i18n_opt i18n_gz < <(measure --features with-i18n)
cat <<MD
<!-- i18n:start -->
## i18n crate cost (issue 7)

Measured by \`make bench\` (\`scripts/i18n-probe.sh\`): the same tiny Leptos 0.8 hydrate page
(\`benches/i18n_probe\`: 4 texts, one interpolation) built for wasm32 with cachepanel's
release settings, texts as a plain struct vs through leptos_i18n 0.6.2 (features hydrate,
cookie, icu_compiled_data, format_nums).

| build | raw .wasm | after wasm-opt -Oz | gzip -9 |
|---|---|---|---|
| plain struct (cachepanel's \`src/i18n.rs\`) | $plain_raw B | $plain_opt B | $plain_gz B |
| leptos_i18n | $i18n_raw B | $i18n_opt B | $i18n_gz B |
| difference | +$((i18n_raw - plain_raw)) B | +$((i18n_opt - plain_opt)) B | +$((i18n_gz - plain_gz)) B |

Decision: keep the plain struct. It already fails the build when a language misses a text,
and numbers and dates are formatted by \`src/model/format.rs\` (with chrono); the library would
add the difference above to every page load for two languages.
<!-- i18n:end -->
MD
