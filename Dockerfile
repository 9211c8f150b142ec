# The hugepic binary (serve, worker, tile, migrate) in a small image.
FROM rust:1-bookworm AS build
RUN apt-get update && apt-get install -y --no-install-recommends nasm && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN cargo build --release --locked -p hugepic && cp target/release/hugepic /usr/local/bin/hugepic

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates && rm -rf /var/lib/apt/lists/*
COPY --from=build /usr/local/bin/hugepic /usr/local/bin/hugepic
# The web client is added here once it exists (client/dist).
ENV HUGEPIC_DATA_DIR=/data HUGEPIC_CLIENT_DIR=/srv/client HUGEPIC_BIND=0.0.0.0:8000
VOLUME /data
EXPOSE 8000
ENTRYPOINT ["hugepic"]
CMD ["serve"]
