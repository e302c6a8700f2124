#!/usr/bin/env bash
# Installs what Atelier needs and the machine lacks. Usage: install-deps.sh run|test|bench
#   run:   ffmpeg (Debian package) — what `atelier serve` drives.
#   test:  the above, plus the real parts the tests use: versitygw (built once into .cache/bin),
#          Debian's chromium, python3-icalendar (an independent iCalendar parser), python3-feedparser
#          (an independent Atom/RSS parser: workshop and replay feeds), espeak-ng and pocketsphinx
#          (speech for automatic captions), postgresql (server binaries; the tests start their own
#          server in a temporary directory).
# As root, missing Debian packages are installed with apt-get; otherwise the script says what to
# install and fails, rather than leaving a half-working setup.
set -euo pipefail
cd "$(dirname "$0")/.."
what=${1:-run}

VERSITYGW_VERSION=v1.8.0
CACHE_BIN=${ATELIER_CACHE_BIN:-$PWD/.cache/bin}

need_pkgs=()
want() { # want COMMAND-OR-PATH PACKAGE
  if [[ $1 == /* ]]; then [[ -e $1 ]] && return 0; else command -v "$1" >/dev/null 2>&1 && return 0; fi
  need_pkgs+=("$2")
}

want ffmpeg ffmpeg
want ffprobe ffmpeg
if [[ $what == test || $what == bench ]]; then
  want chromium chromium
  want npm npm # fetches hls.js into web/static/vendor at build time (the e2e test plays HLS through it)
  want /usr/lib/python3/dist-packages/icalendar python3-icalendar
  want /usr/lib/python3/dist-packages/dateutil python3-dateutil
  want /usr/lib/python3/dist-packages/feedparser python3-feedparser # a second Atom/RSS parser (workshop and replay feeds)
  want espeak-ng espeak-ng
  command -v pocketsphinx >/dev/null 2>&1 || want pocketsphinx_continuous pocketsphinx # 5.x or 0.8 (bookworm)
  want /usr/share/pocketsphinx/model/en-us pocketsphinx-en-us
  # PostgreSQL for the tests that run the stores on it: internal/testenv starts its own server
  # from these binaries in a temporary directory (Debian keeps them off PATH).
  compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null || need_pkgs+=(postgresql)
fi

if ((${#need_pkgs[@]})); then
  mapfile -t need_pkgs < <(printf '%s\n' "${need_pkgs[@]}" | sort -u)
  if [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null; then
    echo "installing Debian packages: ${need_pkgs[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need_pkgs[@]}" >/dev/null
  else
    echo "missing: ${need_pkgs[*]}" >&2
    echo "install them with: sudo apt-get install ${need_pkgs[*]}" >&2
    exit 1
  fi
fi

if [[ $what == test || $what == bench ]]; then
  if [[ ! -x $CACHE_BIN/versitygw ]]; then
    echo "building versitygw $VERSITYGW_VERSION into $CACHE_BIN (once; it is cached there)"
    mkdir -p "$CACHE_BIN"
    (cd /tmp && GOBIN=$CACHE_BIN GOFLAGS=-mod=mod go install "github.com/versity/versitygw/cmd/versitygw@$VERSITYGW_VERSION")
  fi
fi

go mod download
