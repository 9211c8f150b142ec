"""Tile serving in the distributed mode's read path: `hugepic serve` with its tiles in an
S3 bucket (no CDN: the server answers tiles itself, through its hot-tile cache) against
the bucket server answering the same objects directly.

The bucket server is `moto_server` (what the tests use). Both servers are pinned to core
0, wrk to core 1, as in serve_vs_nginx.py; same tile list rules, runs and medians.

usage: serve_s3.py HUGEPIC_BIN PICTURE.jpg WORKDIR [RUNS] [SECONDS] [TILES]
"""
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import time
import urllib.request

from serve_vs_nginx import CONNECTIONS, cpu_seconds, free_port, wait_http, wrk

BUCKET = "hugepic-bench"


def lua(path, listing):
    with open(path, "w") as f:
        f.write(
            "local paths = {}\n"
            f"for line in io.lines({json.dumps(listing)}) do paths[#paths + 1] = line end\n"
            "math.randomseed(11)\n"
            "request = function() return wrk.format(nil, paths[math.random(#paths)]) end\n"
        )


def main():
    hugepic, picture, work = sys.argv[1], sys.argv[2], os.path.abspath(sys.argv[3])
    runs = int(sys.argv[4]) if len(sys.argv) > 4 else 3
    seconds = int(sys.argv[5]) if len(sys.argv) > 5 else 15
    count = int(sys.argv[6]) if len(sys.argv) > 6 else 5000
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    s3_port = free_port()
    bucket_base = f"http://127.0.0.1:{s3_port}"
    moto = subprocess.Popen(["taskset", "-c", "0", "moto_server", "-H", "127.0.0.1", "-p", str(s3_port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    server = None
    try:
        wait_http(bucket_base)
        urllib.request.urlopen(urllib.request.Request(f"{bucket_base}/{BUCKET}", method="PUT")).close()
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        server = subprocess.Popen(
            ["taskset", "-c", "0", hugepic, "serve", "--data-dir", os.path.join(work, "data"),
             "--bind", f"127.0.0.1:{port}", "--s3-bucket", BUCKET, "--s3-endpoint", bucket_base,
             "--s3-access-key-id", "test", "--s3-secret-access-key", "test", "--s3-path-style", "true"],
            env={**os.environ, "HUGEPIC_LOG": "hugepic=warn"},
        )
        wait_http(f"{base}/healthz")
        upload = subprocess.run(["curl", "-sf", "-F", f"file=@{picture}", f"{base}/api/pictures"],
                                capture_output=True, text=True, check=True)
        pid = json.loads(upload.stdout)["id"]
        while True:
            with urllib.request.urlopen(f"{base}/api/pictures/{pid}") as r:
                state = json.load(r)
            if state["status"] == "ready":
                break
            if state["status"] == "failed":
                raise SystemExit(f"tiling failed: {state['error']}")
            time.sleep(1)
        width, height = state["width"], state["height"]
        top = (max(width, height) - 1).bit_length()
        paths = []
        for level in (top, top - 1):
            scale = 1 << (top - level)
            cols = -(-((width + scale - 1) // scale) // 256)
            rows = -(-((height + scale - 1) // scale) // 256)
            paths += [f"/tiles/{pid}/image_files/{level}/{c}_{r}.jpg" for c in range(cols) for r in range(rows)]
        random.seed(7)
        chosen = random.sample(paths, min(count, len(paths)))
        ours, theirs = os.path.join(work, "tiles.txt"), os.path.join(work, "bucket.txt")
        with open(ours, "w") as f:
            f.write("\n".join(chosen) + "\n")
        with open(theirs, "w") as f:
            f.write("\n".join(f"/{BUCKET}{p}" for p in chosen) + "\n")
        lua(os.path.join(work, "tiles.lua"), ours)
        lua(os.path.join(work, "bucket.lua"), theirs)
        with urllib.request.urlopen(f"{bucket_base}/{BUCKET}{chosen[0]}") as r:
            assert r.status == 200, "the bucket answers the tile directly"
        servers = {
            "hugepic (S3)": (base, os.path.join(work, "tiles.lua"), lambda: [server.pid]),
            "moto_server": (bucket_base, os.path.join(work, "bucket.lua"), lambda: [moto.pid]),
        }
        results = {name: [] for name in servers}
        print(f"{len(chosen)} tiles of levels {top - 1} and {top} of a {width} x {height} picture in a bucket; "
              f"wrk -t1 -c{CONNECTIONS} -d{seconds}s, servers on core 0, wrk on core 1", flush=True)
        for run in range(runs):
            for name, (url, script, pids) in servers.items():
                wrk(url, script, 3)
                before = cpu_seconds(pids())
                rps, p99 = wrk(url, script, seconds)
                cpu = cpu_seconds(pids()) - before
                results[name].append((rps, p99, cpu))
                print(f"run {run + 1} {name:14} {rps:10.0f} req/s  p99 {p99:8.2f} ms  CPU {cpu:6.2f} s", flush=True)
        print()
        print("| server | req/s (median) | p99 (median) | CPU s per 100k requests |")
        print("| --- | --- | --- | --- |")
        medians = {}
        for name, rows in results.items():
            rps = statistics.median(r[0] for r in rows)
            medians[name] = rps
            per = statistics.median(r[2] / (r[0] * seconds) * 100_000 for r in rows)
            print(f"| {name} | {rps:,.0f} | {statistics.median(r[1] for r in rows):.2f} ms | {per:.2f} |")
        print(f"\nratio hugepic (S3) / bucket server: {medians['hugepic (S3)'] / medians['moto_server']:.2f}")
    finally:
        if server:
            server.terminate()
            server.wait()
        moto.terminate()
        moto.wait()


if __name__ == "__main__":
    main()
