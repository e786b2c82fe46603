#!/usr/bin/env bash
# npm run package: the .deb and the .rpm, into dist/ (or OUTPUT_DIR).
#   bash packaging/package.sh [OUTPUT_DIR]
set -euo pipefail
HERE=$(dirname -- "${BASH_SOURCE[0]}")
bash "$HERE/build-deb.sh" "${1:-}"
bash "$HERE/build-rpm.sh" "${1:-}"
