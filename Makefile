# cachepanel — two commands matter on a fresh machine: `make run` and `make test`.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c

# One warm cargo target dir outside the clone: CI's fresh clones reuse it on the same machine.
STATE_DIR ?= $(HOME)/.cache/cachepanel
export CARGO_TARGET_DIR ?= $(STATE_DIR)/target
export PATH := $(HOME)/.cargo/bin:/usr/local/bin:$(PATH)
# Written by scripts/bootstrap.sh: empty on the rustup path, RUSTUP_TOOLCHAIN=/usr on the Debian one.
-include $(STATE_DIR)/toolchain.mk

SERVER_BIN := $(CARGO_TARGET_DIR)/release/cachepanel
SITE_ROOT := $(CURDIR)/target/site

.PHONY: run test bootstrap build lint test-rust test-e2e bench screenshots fmt clean-site

## make run: bootstrap if needed, build (release), start on CACHEPANEL_ADDR (default 127.0.0.1:3000)
## Dev mode unless told otherwise: without CACHEPANEL_JWT_SECRET it signs its own tokens and
## offers a one-click dev login (loopback only).
run: build
	CACHEPANEL_SITE_ROOT=$(SITE_ROOT) CACHEPANEL_DEV_MODE=$${CACHEPANEL_DEV_MODE:-true} $(SERVER_BIN)

## make test: every test: formatting, clippy (server and wasm32), unit + integration, browser
test: bootstrap lint test-rust build test-e2e

bootstrap:
	@scripts/bootstrap.sh

# --precompress writes .br and .gz twins of the client files; --split moves the chart code into
# a WASM chunk loaded after hydration; hash.txt (the content-hashed names) is copied into the
# site, so the site directory alone describes the client. Every build path uses this command.
build: bootstrap
	cargo leptos build --release --precompress --split
	cp $(CARGO_TARGET_DIR)/release/hash.txt $(SITE_ROOT)/hash.txt

lint:
	cargo fmt --check
	cargo clippy --features ssr --all-targets -- -D warnings
	cargo clippy -p wire-derive --all-targets -- -D warnings
	cargo clippy --lib --target wasm32-unknown-unknown --features hydrate -- -D warnings

# 8 MiB thread stacks, as the server binary uses (debug-build SSR futures are deep).
test-rust:
	RUST_MIN_STACK=8388608 cargo test --features ssr
	cargo test -p wire-derive

test-e2e:
	CACHEPANEL_BIN=$(SERVER_BIN) CACHEPANEL_SITE_ROOT=$(SITE_ROOT) node --test --test-concurrency=1 end2end/tests/

## make screenshots: the README's pictures, from a demo run of the release build
screenshots: build
	CACHEPANEL_BIN=$(SERVER_BIN) CACHEPANEL_SITE_ROOT=$(SITE_ROOT) node end2end/screenshots.mjs

fmt:
	cargo fmt

## make bench: build-size and memory measurements, written to BENCHMARKS.md
bench: build
	CACHEPANEL_BIN=$(SERVER_BIN) SITE_ROOT=$(SITE_ROOT) scripts/bench.sh
