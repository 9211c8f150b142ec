# Shared by the scripts: build output outside the checkout (kept between runs and
# clones), and the system packages the build needs.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/hugepic-target}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"

# libjpeg-turbo's SIMD code is assembled with nasm; without it JPEG is 3-4× slower.
if ! command -v nasm >/dev/null 2>&1; then
  echo "installing nasm (needed to build libjpeg-turbo's SIMD code)" >&2
  if [ "$(id -u)" = 0 ]; then
    (apt-get install -y -qq nasm || (apt-get update -qq && apt-get install -y -qq nasm)) >/dev/null
  else
    sudo apt-get install -y -qq nasm >/dev/null
  fi
fi
