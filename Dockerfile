# syntax=docker/dockerfile:1
# Voices in a container: one binary on a slim Debian, run as an unprivileged user, its files in /data.
#
#   docker build -t voices .
#   docker run -d -p 8080:8080 -v voices-data:/data \
#     -e VOICES_BASE_URL=https://voices.example.nhs.uk -e VOICES_SECRET_KEY=... voices
#
# Settings are VOICES_* environment variables (config/default.toml lists them all). docs/deploy/README.md
# covers the reverse proxy, several instances and upgrades.

ARG RUST_VERSION=1
ARG DEBIAN_RELEASE=bookworm

FROM rust:${RUST_VERSION}-${DEBIAN_RELEASE} AS build
WORKDIR /src
# SQLite, libpq and OpenSSL are compiled in (Cargo.toml), with the C compiler, make and perl this image
# has: the runtime image needs none of their libraries.
COPY . .
# The caches keep the registry and compiled dependencies between builds; the binary is copied out of
# them because a cache mount is not part of the image.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked \
    && cp target/release/voices /usr/local/bin/voices

FROM debian:${DEBIAN_RELEASE}-slim
# ca-certificates: for TLS to PostgreSQL with sslrootcert=system. A PostgreSQL deployment that wants
# the service's own scheduled backups also needs pg_dump of the server's major version: build FROM this
# image and add it, or run `voices backup` where the client tools are. Root certificates are wanted at
# their newest, so the package is not pinned.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 voices \
    && useradd --system --uid 10001 --gid voices --home-dir /data --shell /usr/sbin/nologin voices \
    && mkdir /data \
    && chown voices:voices /data \
    && chmod 0700 /data
COPY --from=build /usr/local/bin/voices /usr/local/bin/voices

ENV VOICES_ENV=production \
    VOICES_BIND=0.0.0.0:8080 \
    VOICES_DATA_DIR=/data \
    VOICES_LOG_FORMAT=json
# The SQLite database, the email files when no SMTP server is set, scheduled backups. On PostgreSQL
# (VOICES_DATABASE_URL=postgres://...) it holds little, but keep it: its permissions are checked at start.
VOLUME ["/data"]
WORKDIR /data
# Numeric, so an orchestrator can see it is not root without the image's user list.
USER 10001:10001
EXPOSE 8080

# `voices probe` asks GET /readyz on VOICES_BIND's port: 200 once the service is ready, 503 while its
# database is not; the image needs no HTTP client for it.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 CMD ["voices", "probe"]

# Arguments replace `serve`: `docker run ... voices check`, `... voices migrate`, `... voices create-admin`.
ENTRYPOINT ["voices"]
CMD ["serve"]
