"""Tile serving from a bucket: `hugepic serve` with its tiles in S3 (no CDN, so the server
serves them itself) against the bucket server answering the same tiles directly.

The bucket server is s3s-fs (it checks signatures and keeps objects as files). hugepic
tiles the picture into the bucket, then wrk (1 thread, 64 connections, core 1) requests
the same random tiles of the two top levels from:
- hugepic with its hot-tile cache (the default, 256 MiB): the bucket is read once a tile;
- hugepic with `--tile-cache-mib 0`: every request is a conditional GET to the bucket
  (hugepic and s3s-fs share core 0, and both count as its CPU);
- s3s-fs itself, each tile by a presigned URL (query-string signature, checked per request).

usage: serve_s3.py HUGEPIC_BIN S3S_FS_BIN PICTURE.jpg WORKDIR [RUNS] [SECONDS] [TILES]
"""
import os
import shutil
import subprocess
import sys
import urllib.request

import boto3
from botocore.config import Config

from serve_vs_nginx import CONNECTIONS, compare, free_port, start_hugepic, top_tiles, upload, wrk_script

BUCKET = "hugepic-bench"
KEY_ID = "AKBENCHHUGEPIC"
SECRET = "SKBENCHHUGEPICSECRET"


def main():
    hugepic, s3s_fs, picture, work = sys.argv[1], sys.argv[2], sys.argv[3], os.path.abspath(sys.argv[4])
    runs = int(sys.argv[5]) if len(sys.argv) > 5 else 3
    seconds = int(sys.argv[6]) if len(sys.argv) > 6 else 15
    count = int(sys.argv[7]) if len(sys.argv) > 7 else 5000
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(os.path.join(work, "bucket"))
    s3_port = free_port()
    endpoint = f"http://127.0.0.1:{s3_port}"
    bucket_server = subprocess.Popen(
        ["taskset", "-c", "0", s3s_fs, "--host", "127.0.0.1", "--port", str(s3_port),
         "--access-key", KEY_ID, "--secret-key", SECRET, os.path.join(work, "bucket")],
        env={**os.environ, "RUST_LOG": "error"},
    )
    servers = []
    try:
        s3 = boto3.client(
            "s3", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id=KEY_ID,
            aws_secret_access_key=SECRET,
            config=Config(signature_version="s3v4", s3={"addressing_style": "path"},
                          retries={"max_attempts": 20, "mode": "standard"}),
        )
        s3.create_bucket(Bucket=BUCKET)
        s3_args = ["--s3-bucket", BUCKET, "--s3-endpoint", endpoint, "--s3-access-key-id", KEY_ID,
                   "--s3-secret-access-key", SECRET]
        cached, cached_base = start_hugepic(hugepic, os.path.join(work, "data"), s3_args)
        servers.append(cached)
        pid, width, height = upload(cached_base, picture)
        # A second process on the same metadata (SQLite allows it), serving only.
        uncached, uncached_base = start_hugepic(
            hugepic, os.path.join(work, "data"), [*s3_args, "--tile-cache-mib", "0", "--no-workers"])
        servers.append(uncached)
        keys, top = top_tiles(width, height, count)
        through_hugepic = wrk_script(work, "hugepic", [f"/tiles/{pid}/{key}" for key in keys])
        presigned = []
        for key in keys:
            url = s3.generate_presigned_url(
                "get_object", Params={"Bucket": BUCKET, "Key": f"tiles/{pid}/{key}"}, ExpiresIn=24 * 3600)
            presigned.append(url[len(endpoint):])
        direct = wrk_script(work, "bucket", presigned)
        tile_bytes = sum(s3.head_object(Bucket=BUCKET, Key=f"tiles/{pid}/{key}")["ContentLength"] for key in keys)
        for url in (cached_base + f"/tiles/{pid}/{keys[0]}", uncached_base + f"/tiles/{pid}/{keys[0]}",
                    endpoint + presigned[0]):
            with urllib.request.urlopen(url) as r:
                assert r.status == 200 and len(r.read()) > 0, url
        print(f"{len(keys)} tiles ({tile_bytes / 2**20:.0f} MiB) of levels {top - 1} and {top} of a "
              f"{width} x {height} picture in s3s-fs; wrk -t1 -c{CONNECTIONS} -d{seconds}s on core 1, "
              "the servers on core 0", flush=True)
        medians = compare({
            "hugepic (hot-tile cache)": (cached_base, through_hugepic, lambda: [cached.pid]),
            "hugepic (no cache)": (uncached_base, through_hugepic, lambda: [uncached.pid, bucket_server.pid]),
            "s3s-fs, presigned GETs": (endpoint, direct, lambda: [bucket_server.pid]),
        }, runs, seconds)
        peer = medians["s3s-fs, presigned GETs"]
        print(f"\nratio hugepic (hot-tile cache) / s3s-fs: {medians['hugepic (hot-tile cache)'] / peer:.2f}; "
              f"hugepic (no cache) / s3s-fs: {medians['hugepic (no cache)'] / peer:.2f}")
    finally:
        for server in servers:
            server.terminate()
            server.wait()
        bucket_server.terminate()
        bucket_server.wait()


if __name__ == "__main__":
    main()
