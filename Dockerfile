# Flagpole container image: a release build on Debian, then only the binary on a distroless base
# (glibc, CA certificates, no shell), running as an unprivileged user.
#
#   docker build -t flagpole .
#   docker run -p 4242:4242 -v flagpole-data:/data -e INIT_ADMIN_API_TOKENS='*:*.<secret>' flagpole

FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY Cargo.toml Cargo.lock rust-toolchain.toml ./
# Build settings (the allocator's run-time defaults) live in .cargo/config.toml.
COPY .cargo .cargo
COPY crates crates
RUN cargo build --release --locked --bin flagpole \
 && install -D target/release/flagpole /out/flagpole \
 && install -d -o 65532 -g 65532 /out/data

FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /out/flagpole /usr/local/bin/flagpole
COPY --from=build --chown=65532:65532 /out/data /data
USER 65532:65532
ENV HTTP_HOST=0.0.0.0 \
    HTTP_PORT=4242 \
    DATA_DIR=/data \
    LOG_FORMAT=json
VOLUME ["/data"]
EXPOSE 4242
ENTRYPOINT ["/usr/local/bin/flagpole"]
CMD ["serve"]
