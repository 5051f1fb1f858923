# cachepanel container image. Not built in this project's CI (no Docker engine there): keep it
# in step with the Makefile by reading. The build stage runs the same `cargo leptos build
# --release --precompress` as `make build`; cargo-leptos fetches wasm-bindgen and wasm-opt itself here.

FROM rust:1.96-bookworm AS build
WORKDIR /src
RUN rustup target add wasm32-unknown-unknown \
 && cargo install cargo-leptos --version 0.3.11 --locked
COPY . .
RUN cargo leptos build --release --precompress --split \
 && cp target/release/hash.txt target/site/hash.txt \
 && cp target/release/cachepanel /cachepanel \
 && cp -r target/site /site

FROM debian:bookworm-slim AS runtime
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates curl \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home-dir /app cachepanel
WORKDIR /app
COPY --from=build /cachepanel /app/cachepanel
COPY --from=build /site /app/site
ENV CACHEPANEL_ADDR=0.0.0.0:3000 \
    CACHEPANEL_SITE_ROOT=/app/site
USER cachepanel
EXPOSE 3000
# /healthz answers 200 while the process serves (Redis reachability is in the body).
HEALTHCHECK --interval=15s --timeout=3s --start-period=10s --retries=3 \
  CMD curl -fsS http://127.0.0.1:3000/healthz >/dev/null || exit 1
# CACHEPANEL_REDIS_URL must be set (the image has no redis-server for the embedded demo mode),
# and CACHEPANEL_JWT_SECRET (or CACHEPANEL_JWT_SECRET_FILE): the admin's SECRET_KEY.
ENTRYPOINT ["/app/cachepanel"]
