#!/usr/bin/env bash
# Fetches the stock kernel of one Debian suite (the package linux-image-amd64
# depends on) into a cache outside the repository, extracts it and runs depmod.
# Prints the directory holding vmlinuz and lib/modules/RELEASE.
# Usage: fetch-kernel.sh SUITE [CACHE_DIR]
set -euo pipefail
suite=$1
cache=${2:-/var/cache/check_conntrack-vm}
base=$cache/$suite
mkdir -p "$base/lists/partial" "$base/parts" "$base/archives/partial"
echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian $suite main" >"$base/sources.list"
# A private sources list and package lists: the host's apt state is not touched.
apt_opts=(
  -o "Dir::Etc::SourceList=$base/sources.list" -o "Dir::Etc::SourceParts=$base/parts"
  -o "Dir::State::Lists=$base/lists" -o "Dir::Cache::archives=$base/archives"
  -o Dir::Cache::pkgcache= -o Dir::Cache::srcpkgcache= -o APT::Get::List-Cleanup=0 -o APT::Sandbox::User=root
)
if [ -f "$base/ready" ]; then cat "$base/ready"; exit 0; fi
apt-get -qq "${apt_opts[@]}" update >&2
pkg=$(apt-cache "${apt_opts[@]}" depends linux-image-amd64 | awk '/Depends: linux-image-/ {print $2; exit}')
[ -n "$pkg" ] || { echo "no linux-image package for $suite" >&2; exit 1; }
out=$base/$pkg
if [ ! -f "$out/vmlinuz" ]; then
  rm -rf "$out.tmp" && mkdir -p "$out.tmp"
  (cd "$base/archives" && apt-get -qq "${apt_opts[@]}" download "$pkg" >&2)
  dpkg-deb -x "$base/archives/${pkg}"_*.deb "$out.tmp/root"
  root=$out.tmp/root
  # Debian 13 keeps modules in /usr/lib/modules.
  moddir=
  for d in "$root"/lib/modules/* "$root"/usr/lib/modules/*; do [ -d "$d" ] && moddir=$d; done
  [ -n "$moddir" ] || { echo "no modules in $pkg" >&2; exit 1; }
  release=$(basename "$moddir")
  mkdir -p "$out.tmp/lib/modules"
  mv "$moddir" "$out.tmp/lib/modules/$release"
  cp "$root/boot/vmlinuz-$release" "$out.tmp/vmlinuz"
  cp "$root/boot/config-$release" "$out.tmp/config" 2>/dev/null || true
  rm -rf "$root"
  depmod -b "$out.tmp" "$release"
  echo "$release" >"$out.tmp/release"
  mv "$out.tmp" "$out"
fi
echo "$out" >"$base/ready"
echo "$out"
