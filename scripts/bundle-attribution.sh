#!/usr/bin/env bash
# What the browser bundle is made of: builds the client exactly as `make build` does (split,
# wasm-opt -Oz) but keeps the function names, into its own target and site directories so the
# warm build and the served site stay untouched, then sums code and data per crate for the
# initial WASM and the chart chunk. Needs twiggy (`cargo install twiggy --locked`).
#
#   scripts/bundle-attribution.sh [top-N]      # prints a Markdown table
set -euo pipefail
top=${1:-14}
state=${STATE_DIR:-$HOME/.cache/cachepanel}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
command -v twiggy >/dev/null || { echo "twiggy not found: cargo install twiggy --locked" >&2; exit 1; }

CARGO_TARGET_DIR=$state/target-attribution \
CARGO_PROFILE_WASM_RELEASE_STRIP=false \
LEPTOS_SITE_ROOT=$work/site \
LEPTOS_WASM_OPT_FEATURES="-Oz,-g,--strip-dwarf,--enable-bulk-memory,--enable-nontrapping-float-to-int" \
  cargo leptos build --release --split --frontend-only >"$work/build.log" 2>&1 \
  || { tail -30 "$work/build.log" >&2; exit 1; }

for wasm in "$work"/site/pkg/*.wasm; do
  twiggy top -n 1000000 --format csv "$wasm" >"${wasm%.wasm}.csv"
done
python3 - "$top" "$work"/site/pkg/*.wasm <<'PY'
import collections, csv, re, sys

top = int(sys.argv[1])

def crate(name):
    """The crate an item belongs to: its path's first segment, or the trait's crate for
    `<T as trait>` items whose self type is a generic parameter."""
    if name.startswith(("custom section", '"function names"')):
        return None  # names are kept only for this attribution; the served file has none
    if name.startswith("__wasm_split"):
        return "(chunk entry glue)"
    if name.startswith("data segment"):
        return "(data: strings, tables, fonts)"
    match = re.match(r"<(?:&mut |&|dyn )?([A-Za-z_]\w*)", name)
    if match:
        first = match.group(1)
        if len(first) <= 2 or first in ("str", "u8", "alloc"):
            trait = re.search(r" as (?:&mut |&)?([A-Za-z_]\w*)", name)
            if trait:
                return trait.group(1)
        return first
    match = re.match(r"([A-Za-z_]\w*)", name)
    if not match or match.group(1) in ("code", "import", "elem", "table"):
        return "(glue: unnamed code, imports, tables)"
    return match.group(1)

for wasm in sys.argv[2:]:
    sizes = collections.Counter()
    with open(wasm[: -len(".wasm")] + ".csv") as table:
        for row in csv.DictReader(table):
            owner = crate(row["Name"])
            if owner:
                sizes[owner] += int(row["ShallowSize"])
    total = sum(sizes.values())
    label = "chart chunk" if "split_" in wasm else "initial WASM"
    print(f"\n{label}: {total:,} bytes of code and data (before compression)\n")
    print("| crate | bytes | share |\n|---|---:|---:|")
    for owner, size in sizes.most_common(top):
        print(f"| {owner} | {size:,} | {100 * size / total:.1f} % |")
PY
