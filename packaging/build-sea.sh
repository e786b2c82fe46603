#!/usr/bin/env bash
# Builds dist/check_conntrack-sea: a Node.js single executable application
# (one ELF file: this machine's node with the bundle injected), for hosts
# without Node.js. Made from dist/check_conntrack with
# 'node --experimental-sea-config' and postject from node_modules.
#   bash packaging/build-sea.sh [OUTPUT_DIR]
# NODE=/path/to/node chooses the Node.js binary to embed (default: node on
# PATH; Node.js 20 or later, whose --help lists --experimental-sea-config).
# The result runs where that node runs (Linux x86-64 with glibc 2.28 or
# later for the official and NodeSource builds).
# STRIP=0 keeps the symbol table (about 12 MB more).
set -euo pipefail
umask 022
REPO=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd)
BUNDLE="$REPO/dist/check_conntrack"
POSTJECT="$REPO/node_modules/postject/dist/cli.js"
# The fuse postject flips so that node looks for the blob (Node's SEA docs).
FUSE=NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2

die() {
  echo "build-sea: $*" >&2
  exit 1
}

[ -f "$BUNDLE" ] || die "$BUNDLE is missing: run 'npm run build' first"
[ -f "$POSTJECT" ] || die "$POSTJECT is missing: run 'npm ci'"
NODE_BIN=$(command -v "${NODE:-node}") || die 'node is not installed'
NODE_BIN=$(readlink -f "$NODE_BIN")
case "$("$NODE_BIN" --help)" in
  *--experimental-sea-config*) ;;
  *) die "$NODE_BIN ($("$NODE_BIN" --version)) cannot build single executables (no --experimental-sea-config): use Node.js 20 or later" ;;
esac
STRIP=${STRIP:-1}
if [ "$STRIP" = 1 ]; then command -v strip >/dev/null || die 'strip is not installed (Debian package binutils), or set STRIP=0'; fi

OUT=${1:-$REPO/dist}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
WORK=$(mktemp -d)
trap 'rm -rf -- "$WORK"' EXIT

# The SEA main script is CommonJS run as is: no shebang line.
if [ "$(head -c 2 "$BUNDLE")" = '#!' ]; then tail -n +2 "$BUNDLE" >"$WORK/main.cjs"; else cp "$BUNDLE" "$WORK/main.cjs"; fi
cat >"$WORK/sea-config.json" <<JSON
{
  "main": "$WORK/main.cjs",
  "output": "$WORK/sea-prep.blob",
  "disableExperimentalSEAWarning": true,
  "useCodeCache": true
}
JSON
quietly() {
  "$@" >"$WORK/log" 2>&1 || { cat "$WORK/log" >&2; die "failed: $*"; }
}
quietly "$NODE_BIN" --experimental-sea-config "$WORK/sea-config.json"

cp "$NODE_BIN" "$WORK/check_conntrack-sea"
chmod 0755 "$WORK/check_conntrack-sea"
# Debugging symbols are of no use to a monitoring plugin; strip before the
# blob goes in, never after.
if [ "$STRIP" = 1 ]; then quietly strip --strip-all "$WORK/check_conntrack-sea"; fi
# (LIEF, inside postject, warns about the many .note sections of node: harmless.)
quietly "$NODE_BIN" "$POSTJECT" "$WORK/check_conntrack-sea" NODE_SEA_BLOB "$WORK/sea-prep.blob" --sentinel-fuse "$FUSE"

# A smoke test before it replaces anything: --version from the blob, with no
# node on PATH.
VERSION=$("$NODE_BIN" -p 'require(process.argv[1]).version' "$REPO/package.json")
GOT=$(env -i PATH=/nonexistent "$WORK/check_conntrack-sea" --version) && true
[ "$GOT" = "$VERSION" ] || die "the single executable printed '$GOT' for --version, not '$VERSION'"

mv -f "$WORK/check_conntrack-sea" "$OUT/check_conntrack-sea"
# Its licenses: check_conntrack's, the bundled npm packages', and Node.js's.
{
  cat "$REPO/packaging/LICENSE"
  echo
  "$NODE_BIN" "$REPO/packaging/licenses.mjs" third-party
  echo
  echo "=============================================================================="
  echo "Node.js $("$NODE_BIN" --version) (the runtime this executable is made of)"
  echo "=============================================================================="
  echo
  NODE_LICENSE=
  for f in "$(dirname "$NODE_BIN")/../share/doc/node/LICENSE" /usr/share/doc/nodejs/LICENSE /usr/share/doc/nodejs/copyright; do
    if [ -f "$f" ]; then NODE_LICENSE=$f; break; fi
  done
  if [ -n "$NODE_LICENSE" ]; then cat "$NODE_LICENSE"; else echo "See https://github.com/nodejs/node/blob/$("$NODE_BIN" --version)/LICENSE"; fi
} >"$OUT/check_conntrack-sea.LICENSES.txt"
echo "built $OUT/check_conntrack-sea ($(stat -c %s "$OUT/check_conntrack-sea") bytes, Node.js $("$NODE_BIN" --version))"
