#!/usr/bin/env bash
# Makes a fresh Debian 12 machine able to build, run and test cachepanel, using only the
# package registries (Debian, crates.io, npm). Idempotent: every step checks first and is
# skipped when already done, so a second run takes seconds.
#
#   1. Debian packages: redis-server, redis-tools, chromium (browser tests).
#   2. Rust for the wasm32 client: rustup's target when rustup answers within 60 s; otherwise
#      Debian's rustc-web with a wasm32 std built once from rust-web-src (then every cargo call
#      of the Makefile runs with RUSTUP_TOOLCHAIN=/usr, written to $STATE_DIR/toolchain.mk).
#   3. cargo-leptos (feature no_downloads: it must never fetch tools from the internet).
#   4. wasm-bindgen-cli at exactly the version in Cargo.lock.
#   5. wasm-opt from npm's binaryen 132 (Debian's binaryen 108 produces a broken bundle).
#   6. npm packages of end2end/ (playwright-core; it drives Debian's chromium, no downloads).
#
# Env: CACHEPANEL_BOOTSTRAP_BROWSER=0 skips chromium and end2end (for `make run` only).
set -euo pipefail

CARGO_LEPTOS_VERSION=0.3.11
BINARYEN_VERSION=132.0.0
ROOT=$(cd "$(dirname "$0")/.." && pwd)
STATE_DIR="${CACHEPANEL_STATE_DIR:-$HOME/.cache/cachepanel}"
WITH_BROWSER="${CACHEPANEL_BOOTSTRAP_BROWSER:-1}"
export PATH="$HOME/.cargo/bin:/usr/local/bin:$PATH"
mkdir -p "$STATE_DIR"

started=$(date +%s)
log() { printf '[bootstrap %4ss] %s\n' "$(( $(date +%s) - started ))" "$*"; }
die() { printf '[bootstrap] error: %s\n' "$*" >&2; exit 1; }

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

apt_updated=0
apt_install() {
  local missing=()
  for package in "$@"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed' || missing+=("$package")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ $apt_updated = 0 ]; then
    log "apt-get update"
    as_root apt-get update -q >/dev/null
    apt_updated=1
  fi
  log "apt-get install ${missing[*]}"
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
}

# ---- 1. services and browser
packages=(redis-server redis-tools curl)
# Test-only: chromium for the browser tests, prometheus for promtool (validates /metrics).
[ "$WITH_BROWSER" = 1 ] && packages+=(chromium chromium-driver prometheus)
apt_install "${packages[@]}"
# Only promtool is wanted from the prometheus package; its server stays off where systemd runs.
if [ "$WITH_BROWSER" = 1 ] && command -v systemctl >/dev/null && systemctl is-enabled prometheus >/dev/null 2>&1; then
  as_root systemctl disable --now prometheus >/dev/null 2>&1 || true
fi
# Debian starts a system redis on 6379 after install; nothing here uses it (tests start their own).

# ---- 2. Rust with the wasm32 target
toolchain_mk="$STATE_DIR/toolchain.mk"
rustup_has_wasm() { command -v rustup >/dev/null && rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown; }
if rustup_has_wasm; then
  : > "$toolchain_mk"
elif command -v rustup >/dev/null && timeout 60 rustup target add wasm32-unknown-unknown >/dev/null 2>&1; then
  log "rustup: added wasm32-unknown-unknown"
  : > "$toolchain_mk"
else
  log "rustup unavailable or silent: using Debian's rustc-web with a self-built wasm32 std"
  apt_install rustc-web cargo-web rust-web-src rust-web-llvm lld-22 rust-web-clippy rustfmt-web
  libdir=$(RUSTUP_TOOLCHAIN=/usr /usr/bin/rustc --print target-libdir --target wasm32-unknown-unknown)
  stamp="$libdir/../cachepanel-sysroot.stamp"
  want="$(/usr/bin/rustc -vV | tr '\n' ' ') $(dpkg-query -W -f='${Version}' rust-web-src)"
  if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    log "building the wasm32 std (about 30 s)"
    work=$(mktemp -d)
    mkdir -p "$work/src"
    printf '[package]\nname = "sysroot-dummy"\nversion = "0.0.0"\nedition = "2021"\n[lib]\ncrate-type = ["rlib"]\n[profile.release]\nopt-level = 3\ndebug = false\ncodegen-units = 1\n' > "$work/Cargo.toml"
    echo '#![no_std]' > "$work/src/lib.rs"
    # embed-bitcode=yes: without it every LTO wasm build fails ("Can't find section .llvmbc").
    (cd "$work" && RUSTUP_TOOLCHAIN=/usr RUSTC=/usr/bin/rustc RUSTC_BOOTSTRAP=1 RUSTFLAGS=-Cembed-bitcode=yes \
      CARGO_TARGET_DIR="$work/target" /usr/bin/cargo build -q --release \
      -Zbuild-std=std,panic_abort,test --target wasm32-unknown-unknown)
    as_root rm -rf "$libdir" && as_root mkdir -p "$libdir"
    as_root cp "$work"/target/wasm32-unknown-unknown/release/deps/lib*.rlib "$work"/target/wasm32-unknown-unknown/release/deps/lib*.rmeta "$libdir/"
    as_root rm -f "$libdir"/libsysroot_dummy-*
    echo "$want" | as_root tee "$stamp" >/dev/null
    rm -rf "$work"
  fi
  echo "export RUSTUP_TOOLCHAIN := /usr" > "$toolchain_mk"
  export RUSTUP_TOOLCHAIN=/usr
fi

# ---- 3. cargo-leptos (needs rustc >= 1.96 to build with --locked)
if ! cargo leptos --version 2>/dev/null | grep -q "$CARGO_LEPTOS_VERSION"; then
  install_args=(install cargo-leptos --version "$CARGO_LEPTOS_VERSION" --locked --features no_downloads
    --config profile.release.lto=false --config profile.release.codegen-units=16)
  log "cargo install cargo-leptos $CARGO_LEPTOS_VERSION (10-15 min, once)"
  if command -v rustup >/dev/null && rustup toolchain list | grep -q '^nightly' \
     && cargo +nightly "${install_args[@]}"; then
    :
  else
    apt_install rustc-web cargo-web
    RUSTUP_TOOLCHAIN=/usr /usr/bin/cargo "${install_args[@]}" --root "$HOME/.cargo"
  fi
fi

# ---- 4. wasm-bindgen-cli = the wasm-bindgen version in Cargo.lock
bindgen_version=$(awk '/^name = "wasm-bindgen"$/{getline; gsub(/version = |"/,""); print; exit}' "$ROOT/Cargo.lock")
[ -n "$bindgen_version" ] || die "no wasm-bindgen in Cargo.lock"
if [ "$(wasm-bindgen --version 2>/dev/null | awk '{print $2}')" != "$bindgen_version" ]; then
  log "cargo install wasm-bindgen-cli $bindgen_version (2-3 min, once)"
  # --locked can name a crate version the reachable index lacks; then resolve afresh.
  cargo install -q wasm-bindgen-cli --version "$bindgen_version" --locked --force \
    || cargo install -q wasm-bindgen-cli --version "$bindgen_version" --force
fi

# ---- 5. wasm-opt from npm binaryen, under /usr/local so it shadows any Debian one
if ! /usr/local/bin/wasm-opt --version 2>/dev/null | grep -q "version ${BINARYEN_VERSION%%.*}"; then
  log "npm install binaryen@$BINARYEN_VERSION"
  as_root npm install -g --silent --prefix /usr/local "binaryen@$BINARYEN_VERSION" >/dev/null
fi
[ "$(command -v wasm-opt)" = /usr/local/bin/wasm-opt ] || die "wasm-opt must resolve to /usr/local/bin/wasm-opt (found $(command -v wasm-opt))"

# ---- 6. browser test packages
if [ "$WITH_BROWSER" = 1 ]; then
  lock_sum=$(sha256sum "$ROOT/end2end/package-lock.json" | cut -d' ' -f1)
  if [ "$(cat "$ROOT/end2end/node_modules/.cachepanel-lock" 2>/dev/null)" != "$lock_sum" ]; then
    log "npm ci in end2end/"
    (cd "$ROOT/end2end" && npm ci --silent --no-audit --no-fund >/dev/null)
    echo "$lock_sum" > "$ROOT/end2end/node_modules/.cachepanel-lock"
  fi
fi

log "toolchain ready"
