"""Benchmark: `hugepic tile` against libvips `dzsave` on the same picture, same tile size,
overlap, JPEG quality and layout, in the same run. Prints wall time, CPU time, peak RSS,
tile bytes and PSNR (sampled full-resolution tiles against the source) for each, and
the ratios.

usage: tile_vs_vips.py HUGEPIC_BINARY INPUT.jpg WORKDIR [--quality 85] [--tile-size 256]
"""
import argparse
import os
import random
import resource
import shutil
import subprocess
import sys
import time

import numpy as np
import pyvips


def measure(cmd, env=None):
    """Runs cmd; returns (wall s, cpu s, peak RSS MiB) of that process and its children."""
    start = time.monotonic()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.monotonic() - start
    if status != 0:
        sys.exit(f"failed: {' '.join(cmd)}")
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024


def tree_bytes(path):
    total = files = 0
    for root, _, names in os.walk(path):
        for n in names:
            if n.endswith((".jpg", ".png")):
                total += os.path.getsize(os.path.join(root, n))
                files += 1
    return total, files


def psnr(a, b):
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float("inf") if mse == 0 else 10 * np.log10(255 ** 2 / mse)


def sampled_psnr(src, tiles_dir, level, tile, count=40):
    """PSNR of `count` full-resolution tiles from the first two tile rows."""
    image = pyvips.Image.new_from_file(src, access="sequential")
    band = image.crop(0, 0, image.width, min(image.height, 2 * tile)).copy_memory()
    rng = random.Random(7)
    cols = -(-image.width // tile)
    values = []
    for _ in range(count):
        col, row = rng.randrange(cols), rng.randrange(min(2, -(-image.height // tile)))
        path = os.path.join(tiles_dir, str(level), f"{col}_{row}.jpg")
        t = pyvips.Image.new_from_file(path)
        ref = band.crop(col * tile, row * tile, t.width, t.height)
        values.append(psnr(np.ndarray(buffer=t.write_to_memory(), dtype=np.uint8, shape=[t.height, t.width, t.bands]),
                           np.ndarray(buffer=ref.write_to_memory(), dtype=np.uint8, shape=[ref.height, ref.width, ref.bands])))
    return sum(values) / len(values)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("hugepic")
    ap.add_argument("input")
    ap.add_argument("workdir")
    ap.add_argument("--quality", type=int, default=85)
    ap.add_argument("--tile-size", type=int, default=256)
    ap.add_argument("--concurrency", default="1,2,4")
    args = ap.parse_args()
    src = os.path.abspath(args.input)
    image = pyvips.Image.new_from_file(src)
    levels = max(image.width, image.height).bit_length() + (0 if max(image.width, image.height) & (max(image.width, image.height) - 1) else 0)
    top_level = (max(image.width, image.height) - 1).bit_length()
    print(f"input {src}: {image.width}×{image.height} = {image.width * image.height / 1e9:.2f} Gpx, "
          f"{os.path.getsize(src) / 2**20:.0f} MiB; tile {args.tile_size}, overlap 0, Q{args.quality}, DeepZoom; "
          f"libvips {pyvips.version(0)}.{pyvips.version(1)}.{pyvips.version(2)}, {os.cpu_count()} cores")
    rows = []

    def run(name, cmd, out_files, env=None):
        if os.path.exists(out_files):
            shutil.rmtree(out_files)
        subprocess.run(["sync"])
        wall, cpu, rss = measure(cmd, env)
        size, files = tree_bytes(out_files)
        quality = sampled_psnr(src, out_files, top_level, args.tile_size)
        rows.append((name, wall, cpu, rss, size, files, quality))
        print(f"  {name:<28} {wall:7.2f} s wall {cpu:7.2f} s CPU {rss:7.0f} MiB peak RSS "
              f"{size / 2**20:8.1f} MiB in {files} tiles, PSNR {quality:.2f} dB", flush=True)
        shutil.rmtree(out_files, ignore_errors=True)

    work = os.path.abspath(args.workdir)
    os.makedirs(work, exist_ok=True)
    for extra, name in [([], "hugepic tile"), (["--no-optimize"], "hugepic tile --no-optimize")]:
        out = os.path.join(work, "hugepic")
        run(name, [args.hugepic, "tile", src, out, "--tile-size", str(args.tile_size), "--overlap", "0",
                   "--quality", str(args.quality), "--layout", "dzi"] + extra, os.path.join(out, "image_files"))
    vips_script = ("import sys, pyvips; pyvips.Image.new_from_file(sys.argv[1], access='sequential').dzsave("
                   "sys.argv[2], tile_size=int(sys.argv[3]), overlap=0, layout='dz', depth='onepixel', "
                   "suffix='.jpg[Q=' + sys.argv[4] + ']')")
    for c in args.concurrency.split(","):
        env = dict(os.environ, VIPS_CONCURRENCY=c)
        out = os.path.join(work, "vips")
        run(f"vips dzsave (concurrency {c})",
            [sys.executable, "-c", vips_script, src, out, str(args.tile_size), str(args.quality)],
            out + "_files", env)
        if os.path.exists(out + ".dzi"):
            os.remove(out + ".dzi")

    ours = rows[0]
    best_vips = min((r for r in rows if r[0].startswith("vips")), key=lambda r: r[1])
    print(f"\nratios, hugepic / best libvips ({best_vips[0]}):")
    for r in rows[:2]:
        print(f"  {r[0]:<28} wall {r[1] / best_vips[1]:.2f}×  CPU {r[2] / best_vips[2]:.2f}×  "
              f"peak RSS {r[3] / best_vips[3]:.2f}×  tile bytes {r[4] / best_vips[4]:.3f}×  "
              f"PSNR {r[6] - best_vips[6]:+.2f} dB")
    _ = ours, levels, resource


if __name__ == "__main__":
    main()
