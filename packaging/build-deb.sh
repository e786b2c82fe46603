#!/usr/bin/env bash
# Builds dist/check-conntrack_VERSION_all.deb from dist/check_conntrack with
# dpkg-deb: the plugin in /usr/lib/nagios/plugins, Depends: nodejs (>= 18.19).
#   bash packaging/build-deb.sh [OUTPUT_DIR]
source "$(dirname -- "${BASH_SOURCE[0]}")/common.sh"
need dpkg-deb 'Debian package dpkg'
need gzip 'Debian package gzip'

OUT=$(out_dir "${1:-}")
WORK=$(mktemp -d)
trap 'rm -rf -- "$WORK"' EXIT
ROOT="$WORK/root"
DOC="$ROOT/usr/share/doc/$PACKAGE"

stage_files "$ROOT" /usr/lib/nagios/plugins
# Debian policy: documentation over 4 kB compressed, the changelog as
# changelog.gz (a native package), copyright in the machine-readable format.
gzip -9n "$DOC/README.md"
install -m 0644 "$PACKAGING/changelog" "$DOC/changelog"
gzip -9n "$DOC/changelog"
"$NODE" "$PACKAGING/licenses.mjs" debian >"$DOC/copyright"
chmod 0644 "$DOC/copyright"

install -d -m 0755 "$ROOT/DEBIAN"
INSTALLED_SIZE=$(du -sk --apparent-size "$ROOT/usr" | cut -f1)
{
  echo "Package: $PACKAGE"
  echo "Version: $VERSION"
  echo 'Architecture: all'
  echo "Maintainer: $MAINTAINER"
  echo "Installed-Size: $INSTALLED_SIZE"
  echo 'Depends: nodejs (>= 18.19)'
  echo 'Suggests: conntrack, sudo, nagios-nrpe-server | icinga2'
  echo 'Section: net'
  echo 'Priority: optional'
  echo "Description: $SUMMARY"
  sed -e 's/^/ /' <<<"$DESCRIPTION"
} >"$ROOT/DEBIAN/control"
# Debian's nagios-nrpe-server and icinga2 both run checks as nagios.
{
  echo '#!/bin/sh'
  echo 'set -e'
  echo 'if [ "$1" = configure ]; then'
  state_dir_script nagios | sed 's/^/  /'
  echo 'fi'
} >"$ROOT/DEBIAN/postinst"
# The state is counters for the next run, worthless without the plugin. In
# prerm, not postrm: a postrm would keep the package known to dpkg until purged.
printf '#!/bin/sh\nset -e\nif [ "$1" = remove ]; then rm -rf %s; fi\n' "$STATE_DIR" >"$ROOT/DEBIAN/prerm"
chmod 0755 "$ROOT/DEBIAN/postinst" "$ROOT/DEBIAN/prerm"
(cd "$ROOT" && find usr -type f -print0 | sort -z | xargs -0 md5sum) >"$ROOT/DEBIAN/md5sums"
# An admin's edit of the cron file (turning it on) survives upgrades.
echo /etc/cron.d/check_conntrack >"$ROOT/DEBIAN/conffiles"
chmod 0644 "$ROOT/DEBIAN/control" "$ROOT/DEBIAN/md5sums" "$ROOT/DEBIAN/conffiles"
clamp_times "$ROOT"

DEB="$OUT/${PACKAGE}_${VERSION}_all.deb"
rm -f -- "$DEB"
dpkg-deb --root-owner-group -Zxz --build "$ROOT" "$DEB" >/dev/null
echo "built $DEB ($(stat -c %s "$DEB") bytes)"
