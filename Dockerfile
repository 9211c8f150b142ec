# The hugepic binary (serve, worker, tile, migrate) and the built web client in a
# small image.
FROM node:20-bookworm AS client
WORKDIR /src/client
COPY client/package.json client/package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY client/ ./
RUN npm run build

FROM rust:1-bookworm AS build
RUN apt-get update && apt-get install -y --no-install-recommends nasm && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN cargo build --release --locked -p hugepic && cp target/release/hugepic /usr/local/bin/hugepic

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates && rm -rf /var/lib/apt/lists/*
COPY --from=build /usr/local/bin/hugepic /usr/local/bin/hugepic
COPY --from=client /src/client/dist /srv/client
ENV HUGEPIC_DATA_DIR=/data HUGEPIC_CLIENT_DIR=/srv/client HUGEPIC_BIND=0.0.0.0:8000
VOLUME /data
EXPOSE 8000
ENTRYPOINT ["hugepic"]
CMD ["serve"]
