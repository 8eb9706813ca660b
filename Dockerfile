# localyun container image (multi-stage). Build: docker build -t localyun .
# Run:   docker run --rm -p 4588:4588 -p 4589:4589 localyun
# Keep state across container restarts: docker run -v localyun-data:/data -e LOCALYUN_DATA_DIR=/data ...
#
# Stage 1: build the release binary. rustls + ring: no OpenSSL, only the C compiler the image ships.
FROM rust:1-slim-bookworm AS build
WORKDIR /src
# Fetch the dependencies' sources first, in a layer that changes only with Cargo.toml/Cargo.lock: a source
# edit does not download crates again. (Only the download is cached: the dependencies are compiled again in
# the build step below whenever a source changes.)
COPY Cargo.toml Cargo.lock rustfmt.toml ./
# The manifest declares the benchmark target, so its file must exist for cargo to read the manifest.
RUN mkdir -p src benches/localyun \
    && echo 'fn main() {}' > src/main.rs \
    && echo '' > src/lib.rs \
    && echo 'fn main() {}' > benches/localyun/main.rs \
    && cargo fetch --locked \
    && rm -rf src benches
COPY build.rs ./
COPY link ./link
COPY src ./src
COPY fixtures ./fixtures
COPY benches ./benches
RUN cargo build --release --locked \
    && install -D -m 0755 target/release/localyun /out/usr/local/bin/localyun \
    && mkdir -p /out/data

# Stage 2: distroless "cc" (glibc, libgcc; no shell, no package manager), as the non-root user 65532.
FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /out/usr/local/bin/localyun /usr/local/bin/localyun
# /data belongs to the non-root user, so a fresh named volume mounted there is writable.
COPY --from=build --chown=65532:65532 /out/data /data
USER 65532:65532
# Listen on every interface (the binary's default is 127.0.0.1); keep the generated TLS certificate in the
# volume so clients can mount it and trust it. State is in memory unless LOCALYUN_DATA_DIR=/data is set.
ENV LOCALYUN_HOST=0.0.0.0 \
    LOCALYUN_PORT=4588 \
    LOCALYUN_TLS_PORT=4589 \
    LOCALYUN_TLS_DIR=/data/tls \
    LOCALYUN_LOG_FORMAT=json
EXPOSE 4588 4589
VOLUME ["/data"]
# No curl in the image: the binary checks its own health endpoint (exit 0 healthy, 1 not).
HEALTHCHECK --interval=5s --timeout=3s --start-period=5s --retries=3 \
    CMD ["/usr/local/bin/localyun", "healthcheck"]
ENTRYPOINT ["/usr/local/bin/localyun"]
