"""Benchmark: `hugepic tile` against libvips `dzsave` on the same picture, same tile size,
overlap, JPEG quality and layout, in the same run. Prints wall time, CPU time, peak RSS,
tile bytes and PSNR (sampled full-resolution tiles against the source) for each, and
the ratios.

With --webp: also WebP tiles, ours and libvips' (same quality number), and a search for
the WebP quality that matches JPEG's PSNR, and its SSIM, on a crop of the picture: bytes
at equal PSNR and at equal SSIM.

usage: tile_vs_vips.py HUGEPIC_BINARY INPUT.jpg WORKDIR [--quality 85] [--tile-size 256] [--webp]
"""
import argparse
import os
import random
import shutil
import subprocess
import sys
import time

import numpy as np
import pyvips


def peak_rss_kib(pid):
    """The process's peak resident memory so far (VmHWM), KiB; None once it is gone."""
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def measure(cmd, env=None):
    """Runs cmd; returns (wall s, cpu s, peak RSS MiB) of that process.

    The peak is read from /proc (VmHWM) every 20 ms while it runs, not from wait4's
    ru_maxrss: Linux carries a process's peak across fork and exec, so a child of this
    script (which grows as it compares tiles) would report at least this script's own
    size."""
    start = time.monotonic()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL)
    peak = 0
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        peak = max(peak, peak_rss_kib(proc.pid) or 0)
        time.sleep(0.02)
    wall = time.monotonic() - start
    if status != 0:
        sys.exit(f"failed: {' '.join(cmd)}")
    return wall, usage.ru_utime + usage.ru_stime, peak / 1024


def tree_bytes(path):
    total = files = 0
    for root, _, names in os.walk(path):
        for n in names:
            if n.endswith((".jpg", ".png", ".webp")):
                total += os.path.getsize(os.path.join(root, n))
                files += 1
    return total, files


def psnr(a, b):
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float("inf") if mse == 0 else 10 * np.log10(255 ** 2 / mse)


def luma(rgb):
    rgb = rgb.astype(np.float64)
    return 0.299 * rgb[..., 0] + 0.587 * rgb[..., 1] + 0.114 * rgb[..., 2]


def window_means(x, w=7):
    """Means of every w×w window of x (valid windows only), by summed-area table."""
    c = np.pad(x, ((1, 0), (1, 0))).cumsum(0).cumsum(1)
    return (c[w:, w:] - c[:-w, w:] - c[w:, :-w] + c[:-w, :-w]) / (w * w)


def ssim(a, b):
    """SSIM of the luma of two RGB tiles: 7×7 uniform windows, K1 0.01, K2 0.03."""
    x, y = luma(a[..., :3]), luma(b[..., :3])
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    mx, my = window_means(x), window_means(y)
    vx = window_means(x * x) - mx * mx
    vy = window_means(y * y) - my * my
    cxy = window_means(x * y) - mx * my
    s = ((2 * mx * my + c1) * (2 * cxy + c2)) / ((mx * mx + my * my + c1) * (vx + vy + c2))
    return float(s.mean())


def sampled_quality(src, tiles_dir, level, tile, count=40, extension="jpg"):
    """PSNR and SSIM (means) of `count` full-resolution tiles from the first two tile rows."""
    image = pyvips.Image.new_from_file(src, access="sequential")
    band = image.crop(0, 0, image.width, min(image.height, 2 * tile)).copy_memory()
    rng = random.Random(7)
    cols = -(-image.width // tile)
    psnrs, ssims = [], []
    for _ in range(count):
        col, row = rng.randrange(cols), rng.randrange(min(2, -(-image.height // tile)))
        path = os.path.join(tiles_dir, str(level), f"{col}_{row}.{extension}")
        t = pyvips.Image.new_from_file(path)
        ref = band.crop(col * tile, row * tile, t.width, t.height)
        got = np.ndarray(buffer=t.write_to_memory(), dtype=np.uint8, shape=[t.height, t.width, t.bands])
        want = np.ndarray(buffer=ref.write_to_memory(), dtype=np.uint8, shape=[ref.height, ref.width, ref.bands])
        psnrs.append(psnr(got, want))
        ssims.append(ssim(got, want))
    return sum(psnrs) / len(psnrs), sum(ssims) / len(ssims)


def sampled_psnr(src, tiles_dir, level, tile, count=40, extension="jpg"):
    """PSNR of `count` full-resolution tiles from the first two tile rows."""
    return sampled_quality(src, tiles_dir, level, tile, count, extension)[0]


def median(values):
    values = sorted(values)
    return values[len(values) // 2] if len(values) % 2 else (values[len(values) // 2 - 1] + values[len(values) // 2]) / 2


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("hugepic")
    ap.add_argument("input")
    ap.add_argument("workdir")
    ap.add_argument("--quality", type=int, default=85)
    ap.add_argument("--tile-size", type=int, default=256)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--webp", action="store_true")
    ap.add_argument("--decode-threads", action="store_true",
                    help="also run hugepic with one decoder thread (for inputs it decodes on several)")
    args = ap.parse_args()
    src = os.path.abspath(args.input)
    image = pyvips.Image.new_from_file(src)
    top_level = (max(image.width, image.height) - 1).bit_length()
    print(f"input {src}: {image.width}×{image.height} = {image.width * image.height / 1e9:.2f} Gpx, "
          f"{os.path.getsize(src) / 2**20:.0f} MiB; tile {args.tile_size}, overlap 0, Q{args.quality}, DeepZoom; "
          f"libvips {pyvips.version(0)}.{pyvips.version(1)}.{pyvips.version(2)} (default concurrency), "
          f"{os.cpu_count()} cores, {args.runs} runs each, medians")
    work = os.path.abspath(args.workdir)
    os.makedirs(work, exist_ok=True)

    def ours(extra):
        out = os.path.join(work, "hugepic")
        cmd = [args.hugepic, "tile", src, out, "--tile-size", str(args.tile_size), "--overlap", "0",
               "--quality", str(args.quality), "--layout", "dzi"] + extra
        return cmd, os.path.join(out, "image_files"), None

    def vips(suffix):
        out = os.path.join(work, "vips")
        script = ("import sys, pyvips; pyvips.Image.new_from_file(sys.argv[1], access='sequential').dzsave("
                  "sys.argv[2], tile_size=int(sys.argv[3]), overlap=0, layout='dz', depth='onepixel', "
                  "suffix=sys.argv[4])")
        cmd = [sys.executable, "-c", script, src, out, str(args.tile_size), suffix]
        return cmd, out + "_files", out + ".dzi"

    variants = [
        ("hugepic tile (shared tables)", ours([])),
        ("hugepic tile --huffman per-tile", ours(["--huffman", "per-tile"])),
        ("hugepic tile --huffman standard", ours(["--huffman", "standard"])),
        ("vips dzsave (default)", vips(f".jpg[Q={args.quality}]")),
        ("vips dzsave optimize_coding", vips(f".jpg[Q={args.quality},optimize_coding]")),
    ]
    if args.decode_threads:
        variants.append(("hugepic tile --decode-threads 1", ours(["--decode-threads", "1"])))
    if args.webp:
        variants += [
            ("hugepic tile --format webp", ours(["--format", "webp"])),
            ("vips dzsave .webp", vips(f".webp[Q={args.quality}]")),
        ]
    results = {name: [] for name, _ in variants}
    output = {}
    # Runs go round the variants, so a slow spell of the machine hits them all alike.
    for run in range(args.runs):
        for name, (cmd, files, descriptor) in variants:
            if os.path.exists(files):
                shutil.rmtree(files)
            subprocess.run(["sync"])
            wall, cpu, rss = measure(cmd)
            results[name].append((wall, cpu, rss))
            if name not in output:
                size, count = tree_bytes(files)
                extension = "webp" if "webp" in name else "jpg"
                output[name] = (size, count, sampled_psnr(src, files, top_level, args.tile_size, extension=extension))
            print(f"  run {run + 1}: {name:<32} {wall:7.2f} s wall {cpu:7.2f} s CPU {rss:7.0f} MiB peak RSS",
                  file=sys.stderr, flush=True)
            shutil.rmtree(files, ignore_errors=True)
            if descriptor and os.path.exists(descriptor):
                os.remove(descriptor)

    rows = {}
    print(f"\n| | wall (median; runs) | CPU | peak RSS | tile bytes | PSNR |")
    print("| --- | --- | --- | --- | --- | --- |")
    for name, _ in variants:
        runs = results[name]
        wall, cpu, rss = (median([r[i] for r in runs]) for i in range(3))
        size, count, quality = output[name]
        rows[name] = (wall, cpu, rss, size, quality)
        spread = ", ".join(f"{r[0]:.2f}" for r in runs)
        print(f"| {name} | {wall:.2f} s ({spread}) | {cpu:.2f} s | {rss:.0f} MiB | "
              f"{size / 2**20:.1f} MiB in {count} tiles | {quality:.2f} dB |")
    base = rows["vips dzsave (default)"]
    equal = rows["vips dzsave optimize_coding"]
    print("\nratios (hugepic / libvips default; bytes also / libvips optimize_coding):")
    for name, _ in variants[:3]:
        r = rows[name]
        print(f"  {name:<32} wall {r[0] / base[0]:.2f}×  CPU {r[1] / base[1]:.2f}×  peak RSS {r[2] / base[2]:.2f}×  "
              f"bytes {r[3] / base[3]:.3f}× ({r[3] / equal[3]:.3f}×)  PSNR {r[4] - base[4]:+.2f} dB")
    if args.decode_threads:
        one, auto = rows["hugepic tile --decode-threads 1"], rows["hugepic tile (shared tables)"]
        print(f"  decoding on one thread / on several: wall {one[0] / auto[0]:.2f}×  CPU {one[1] / auto[1]:.2f}×  "
              f"peak RSS {one[2] / auto[2]:.2f}×")
    if args.webp:
        ours_webp, vips_webp = rows["hugepic tile --format webp"], rows["vips dzsave .webp"]
        print(f"  WebP: ours / libvips' WebP: wall {ours_webp[0] / vips_webp[0]:.2f}×  CPU {ours_webp[1] / vips_webp[1]:.2f}×  "
              f"bytes {ours_webp[3] / vips_webp[3]:.3f}×  PSNR {ours_webp[4] - vips_webp[4]:+.2f} dB")
        equal_psnr(args, src, work, image)


def equal_psnr(args, src, work, image):
    """WebP bytes at the PSNR, and at the SSIM, of our JPEG tiles at --quality, on a crop of
    the picture: our WebP at several qualities, log(bytes) interpolated at JPEG's figure."""
    crop_w, crop_h = min(image.width, 8192), min(image.height, 2 * args.tile_size)
    crop = os.path.join(work, "crop.png")
    pyvips.Image.new_from_file(src, access="sequential").crop(0, 0, crop_w, crop_h).pngsave(crop, compression=1)
    top = (max(crop_w, crop_h) - 1).bit_length()
    count = (crop_w // args.tile_size) * 2

    def run(extra, extension):
        out = os.path.join(work, "crop-tiles")
        shutil.rmtree(out, ignore_errors=True)
        subprocess.run([args.hugepic, "tile", crop, out, "--tile-size", str(args.tile_size), "--overlap", "0",
                        "--layout", "dzi"] + extra, check=True, stdout=subprocess.DEVNULL)
        files = os.path.join(out, "image_files", str(top))
        size = sum(os.path.getsize(os.path.join(files, n)) for n in os.listdir(files))
        return (size,) + sampled_quality(crop, os.path.join(out, "image_files"), top, args.tile_size, count, extension)

    jpeg_bytes, jpeg_psnr, jpeg_ssim = run(["--quality", str(args.quality)], "jpg")
    points = []
    print(f"\nequal quality, on the full-resolution tiles of a {crop_w}×{crop_h} crop:")
    print(f"  JPEG Q{args.quality} (shared tables): {jpeg_bytes / 2**20:.2f} MiB, {jpeg_psnr:.2f} dB, SSIM {jpeg_ssim:.4f}")
    for q in (70, 75, 80, 85, 90, 95):
        size, quality, similarity = run(["--format", "webp", "--quality", str(q)], "webp")
        points.append((quality, similarity, size))
        print(f"  WebP Q{q}: {size / 2**20:.2f} MiB ({size / jpeg_bytes:.3f}× JPEG), {quality:.2f} dB, SSIM {similarity:.4f}")
    for label, key, target in (("PSNR", 0, jpeg_psnr), ("SSIM", 1, jpeg_ssim)):
        line = sorted((p[key], p[2]) for p in points)
        for (p0, s0), (p1, s1) in zip(line, line[1:]):
            if p0 <= target <= p1:
                t = (target - p0) / (p1 - p0) if p1 > p0 else 0
                at = np.exp(np.log(s0) + t * (np.log(s1) - np.log(s0)))
                print(f"  WebP at JPEG's {label}: {at / jpeg_bytes:.3f}× JPEG's bytes")
                break
        else:
            print(f"  JPEG's {label} is outside the WebP qualities tried")


if __name__ == "__main__":
    main()
