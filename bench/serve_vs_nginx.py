"""Tile serving: `hugepic serve` (embedded mode) against nginx on the same tile folder.

Both servers get core 0 (`taskset`), wrk gets core 1: 1 thread, 64 connections, the
same random list of tiles from the picture's two top levels, a warm-up, then the timed
run. Per run: requests per second, p99 latency, server CPU seconds (user + system from
/proc). Runs alternate between the servers; the median of the runs is printed with the
ratio hugepic / nginx.

With HUGEPIC_BASELINE=/path/to/another/hugepic, that binary serves the same tiles too
(a second process on the same data folder), in the same rounds: before and after a change.

usage: serve_vs_nginx.py HUGEPIC_BIN PICTURE.jpg WORKDIR [RUNS] [SECONDS] [TILES]
"""
import json
import os
import random
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

CONNECTIONS = 64
TICKS = os.sysconf("SC_CLK_TCK")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url, limit=60):
    deadline = time.time() + limit
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status < 500:
                    return
        except Exception:
            time.sleep(0.1)
    raise SystemExit(f"{url} did not answer")


def cpu_seconds(pids):
    total = 0
    for pid in pids:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / TICKS


def children(pid):
    try:
        out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout
    except FileNotFoundError:
        return []
    return [int(p) for p in out.split()]


def wrk(url, script, seconds):
    out = subprocess.run(
        ["taskset", "-c", "1", "wrk", "-t1", f"-c{CONNECTIONS}", f"-d{seconds}s", "--latency", "-s", script, url],
        capture_output=True, text=True, check=True,
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)", out)
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}[p99.group(2)]
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if errors:
        raise SystemExit(f"{url}: {errors.group(1)} failed responses\n{out}")
    return rps, float(p99.group(1)) * scale


def start_hugepic(hugepic, data, extra=(), env=None):
    """`hugepic serve` on a free port, pinned to core 0; returns (process, base URL)."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        ["taskset", "-c", "0", hugepic, "serve", "--data-dir", data, "--bind", f"127.0.0.1:{port}",
         "--default-visibility", "public", *extra],
        env={**os.environ, "HUGEPIC_LOG": "hugepic=warn", **(env or {})},
    )
    wait_http(f"{base}/healthz")
    return server, base


def upload(base, picture):
    """Uploads `picture` and waits until it is tiled; returns (id, width, height)."""
    created = subprocess.run(
        ["curl", "-sf", "-F", f"file=@{picture}", f"{base}/api/pictures"],
        capture_output=True, text=True, check=True,
    )
    pid = json.loads(created.stdout)["id"]
    while True:
        with urllib.request.urlopen(f"{base}/api/pictures/{pid}") as r:
            state = json.load(r)
        if state["status"] == "ready":
            return pid, state["width"], state["height"]
        if state["status"] == "failed":
            raise SystemExit(f"tiling failed: {state['error']}")
        time.sleep(0.5)


def top_tiles(width, height, count):
    """`count` random tile keys (`image_files/L/c_r.jpg`) of the two top levels, and the top level."""
    top = (max(width, height) - 1).bit_length()
    keys = []
    for level in (top, top - 1):
        scale = 1 << (top - level)
        cols = -(-((width + scale - 1) // scale) // 256)
        rows = -(-((height + scale - 1) // scale) // 256)
        keys += [f"image_files/{level}/{c}_{r}.jpg" for c in range(cols) for r in range(rows)]
    random.seed(7)
    return random.sample(keys, min(count, len(keys))), top


def wrk_script(work, name, urls):
    """A wrk script that requests the paths `urls` in random order."""
    listing = os.path.join(work, f"{name}.txt")
    with open(listing, "w") as f:
        f.write("\n".join(urls) + "\n")
    script = os.path.join(work, f"{name}.lua")
    with open(script, "w") as f:
        f.write(
            "local paths = {}\n"
            f"for line in io.lines({json.dumps(listing)}) do paths[#paths + 1] = line end\n"
            "math.randomseed(11)\n"
            "request = function() return wrk.format(nil, paths[math.random(#paths)]) end\n"
        )
    return script


def compare(servers, runs, seconds):
    """Runs wrk against each server in turn, `runs` rounds; `servers`: name -> (base URL,
    wrk script, function giving the pids whose CPU counts). Prints each run and a table
    of medians; returns name -> median req/s."""
    results = {name: [] for name in servers}
    for run in range(runs):
        for name, (url, script, pids) in servers.items():
            wrk(url, script, 3)  # warm-up: page cache, hot-tile cache, connections
            before = cpu_seconds(pids())
            rps, p99 = wrk(url, script, seconds)
            cpu = cpu_seconds(pids()) - before
            results[name].append((rps, p99, cpu))
            print(f"run {run + 1} {name:24} {rps:10.0f} req/s  p99 {p99:7.2f} ms  CPU {cpu:6.2f} s "
                  f"({cpu / seconds * 100:.0f}% of a core)", flush=True)
    print()
    print("| server | req/s (median; runs) | p99 (median) | CPU s per 100k requests |")
    print("| --- | --- | --- | --- |")
    medians = {}
    for name, rows in results.items():
        rps = statistics.median(r[0] for r in rows)
        p99 = statistics.median(r[1] for r in rows)
        per = statistics.median(r[2] / (r[0] * seconds) * 100_000 for r in rows)
        medians[name] = rps
        each = ", ".join(f"{r[0]:,.0f}" for r in rows)
        print(f"| {name} | {rps:,.0f} ({each}) | {p99:.2f} ms | {per:.2f} |")
    return medians


def main():
    hugepic, picture, work = sys.argv[1], sys.argv[2], os.path.abspath(sys.argv[3])
    runs = int(sys.argv[4]) if len(sys.argv) > 4 else 3
    seconds = int(sys.argv[5]) if len(sys.argv) > 5 else 15
    count = int(sys.argv[6]) if len(sys.argv) > 6 else 5000
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    data = os.path.join(work, "data")
    server, base = start_hugepic(hugepic, data)
    baseline = None
    try:
        pid, width, height = upload(base, picture)
        keys, top = top_tiles(width, height, count)
        chosen = [f"/tiles/{pid}/{key}" for key in keys]
        tile_bytes = sum(os.path.getsize(os.path.join(data, "objects", pid, key)) for key in keys)
        script = wrk_script(work, "tiles", chosen)

        nginx_port = free_port()
        conf = os.path.join(work, "nginx.conf")
        objects = os.path.join(os.path.abspath(data), "objects") + "/"
        with open(conf, "w") as f:
            f.write(f"""worker_processes 1;
pid {work}/nginx.pid;
error_log {work}/nginx-error.log warn;
daemon off;
events {{ worker_connections 1024; }}
http {{
  access_log off;
  sendfile on;
  tcp_nopush on;
  keepalive_requests 100000;
  open_file_cache max=20000 inactive=60s;
  types {{ image/jpeg jpg; }}
  client_body_temp_path {work}/nginx-body;
  proxy_temp_path {work}/nginx-proxy;
  fastcgi_temp_path {work}/nginx-fastcgi;
  uwsgi_temp_path {work}/nginx-uwsgi;
  scgi_temp_path {work}/nginx-scgi;
  server {{
    listen 127.0.0.1:{nginx_port};
    location /tiles/ {{
      alias {objects};
      add_header Cache-Control "public, max-age=31536000, immutable";
      add_header Access-Control-Allow-Origin *;
    }}
  }}
}}
""")
        nginx = subprocess.Popen(["taskset", "-c", "0", "nginx", "-c", conf, "-p", work])
        try:
            nginx_base = f"http://127.0.0.1:{nginx_port}"
            wait_http(f"{nginx_base}{chosen[0]}")
            for url in (base, nginx_base):
                with urllib.request.urlopen(url + chosen[0]) as r:
                    assert r.status == 200 and r.headers["Content-Type"] == "image/jpeg", url
            print(f"{len(chosen)} tiles ({tile_bytes / 2**20:.0f} MiB) of levels {top - 1} and {top} of a "
                  f"{width} x {height} picture; wrk -t1 -c{CONNECTIONS} -d{seconds}s, servers on core 0, wrk on core 1",
                  flush=True)
            servers = {"hugepic": (base, script, lambda: [server.pid])}
            if os.environ.get("HUGEPIC_BASELINE"):
                baseline, baseline_base = start_hugepic(os.environ["HUGEPIC_BASELINE"], data, ["--no-workers"])
                servers["hugepic baseline"] = (baseline_base, script, lambda: [baseline.pid])
            servers["nginx"] = (nginx_base, script, lambda: [nginx.pid] + children(nginx.pid))
            medians = compare(servers, runs, seconds)
            print(f"\nratio hugepic / nginx: {medians['hugepic'] / medians['nginx']:.2f} (goal: 0.8 or more)")
            if "hugepic baseline" in medians:
                print(f"ratio hugepic baseline / nginx: {medians['hugepic baseline'] / medians['nginx']:.2f}")
        finally:
            nginx.terminate()
            nginx.wait()
    finally:
        for process in (server, baseline):
            if process:
                process.terminate()
                process.wait()


if __name__ == "__main__":
    main()
