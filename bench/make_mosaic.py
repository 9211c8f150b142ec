"""Makes a test picture of any size: a mosaic of real pictures (the samples scikit-image
ships), each cell a different picture, crop, mirror and scale, written as a JPEG by
libvips in streaming mode. KIND `photo` (default) uses photographs; `document` uses
scans of printed text, line art and flat graphics (the other kind of picture people tile).

usage: make_mosaic.py WIDTH HEIGHT OUT.jpg [QUALITY] [photo|document]
"""
import os
import random
import subprocess
import sys
import zipfile

import pyvips

HERE = os.path.dirname(os.path.abspath(__file__))
PHOTOS = [
    "astronaut.png", "motorcycle_left.png", "motorcycle_right.png", "ihc.png",
    "hubble_deep_field.jpg", "coffee.png", "retina.jpg", "chelsea.png", "rocket.jpg",
    "color.png", "coins.png", "brick.png", "gravel.png", "grass.png", "camera.png",
]
DOCUMENTS = ["page.png", "text.png", "horse.png", "logo.png", "phantom.png", "chessboard_RGB.png", "moon.png"]


def photo_dir(cache):
    """Extracts the sample photos from the scikit-image wheel (downloaded, not installed)."""
    target = os.path.join(cache, "photos")
    if os.path.isdir(target) and len(os.listdir(target)) >= len(PHOTOS) + len(DOCUMENTS):
        return target
    os.makedirs(target, exist_ok=True)
    wheels = os.path.join(cache, "wheels")
    subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "-q",
                    "scikit-image==0.26.0", "-d", wheels], check=True)
    wheel = next(os.path.join(wheels, f) for f in os.listdir(wheels) if f.startswith("scikit_image"))
    with zipfile.ZipFile(wheel) as z:
        for name in PHOTOS + DOCUMENTS:
            with open(os.path.join(target, name), "wb") as f:
                f.write(z.read("skimage/data/" + name))
    return target


def main():
    width, height, out = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    quality = int(sys.argv[4]) if len(sys.argv) > 4 else 90
    kind = sys.argv[5] if len(sys.argv) > 5 else "photo"
    photos = photo_dir(os.path.dirname(os.path.abspath(out)))
    sources = []
    for name in {"photo": PHOTOS, "document": DOCUMENTS}[kind]:
        im = pyvips.Image.new_from_file(os.path.join(photos, name))
        if im.bands == 1:
            im = im.colourspace("srgb")
        if im.bands == 4:
            im = im.flatten()
        if im.bands == 2:
            im = im[0].colourspace("srgb")
        sources.append(im.cast("uchar").copy_memory())
    rng = random.Random(2012)
    cell = 512
    cols, rows = -(-width // cell), -(-height // cell)
    cells = []
    for _ in range(rows * cols):
        im = sources[rng.randrange(len(sources))]
        scale = rng.choice([1.0, 1.0, 1.25, 1.5, 2.0])
        im = im.resize(max(scale, cell / min(im.width, im.height) + 0.01))
        x = rng.randrange(0, im.width - cell + 1)
        y = rng.randrange(0, im.height - cell + 1)
        im = im.crop(x, y, cell, cell)
        if rng.random() < 0.5:
            im = im.fliphor()
        cells.append(im)
    mosaic = pyvips.Image.arrayjoin(cells, across=cols).crop(0, 0, width, height)
    mosaic.jpegsave(out, Q=quality, optimize_coding=True)


if __name__ == "__main__":
    main()
