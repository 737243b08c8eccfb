# syntax=docker/dockerfile:1
#
# Tessera in a container: a Rust build stage and a slim Debian runtime.
#
#   docker build -t tessera .
#   docker run -p 8080:8080 -e TESSERA_ISSUER=http://localhost:8080 tessera
#
# Without TESSERA_DATABASE_URL it keeps an SQLite database in /app/data; with a postgres://
# URL (see docker-compose.yml) the keys in /app/keys are the only local state. Either way,
# mount /app/keys on a volume: a lost key invalidates every token it signed.

FROM rust:1-bookworm AS builder
# pq-sys builds libpq from source (feature "bundled") against OpenSSL's headers. The rust
# image ships them already; installing them here keeps the build from depending on that.
RUN apt-get update \
    && apt-get install -y --no-install-recommends libssl-dev pkg-config \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
# The cache mounts keep the registry and the dependency builds between image builds; the
# binary is copied out because the target directory is not part of the layer.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked --bin tessera \
    && cp target/release/tessera /usr/local/bin/tessera

FROM debian:bookworm-slim AS runtime
# libssl3: libpq is linked statically but uses the system's OpenSSL.
# ca-certificates: for TLS connections to a managed Postgres (sslmode=require).
# curl: only for the container health check (GET /readyz).
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates libssl3 curl \
    && rm -rf /var/lib/apt/lists/*
RUN useradd --system --uid 10001 --user-group --home-dir /app --no-create-home tessera \
    && mkdir -p /app/data /app/keys \
    && chown tessera:tessera /app/data /app/keys \
    && chmod 0700 /app/keys
COPY --from=builder /usr/local/bin/tessera /usr/local/bin/tessera

WORKDIR /app
USER tessera
# Listen on every interface inside the container. Set TESSERA_ISSUER to the public URL: the
# default (http:// + bind address) would be http://0.0.0.0:8080.
ENV TESSERA_BIND=0.0.0.0:8080 \
    TESSERA_DATABASE_URL=sqlite:///app/data/tessera.db \
    TESSERA_KEYS_DIR=/app/keys
VOLUME ["/app/data", "/app/keys"]
EXPOSE 8080

ENTRYPOINT ["/usr/local/bin/tessera"]
CMD ["serve"]
