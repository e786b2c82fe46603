# Shared by the package builders: the version, the changelog, and the files
# both packages carry. Sourced, not run.
# shellcheck shell=bash
set -euo pipefail
umask 022
export LC_ALL=C

REPO=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd)
PACKAGING="$REPO/packaging"
BUNDLE="$REPO/dist/check_conntrack"
PACKAGE=check-conntrack
NODE=${NODE:-node}

die() {
  echo "packaging: $*" >&2
  exit 1
}

need() {
  command -v "$1" >/dev/null 2>&1 || die "$1 is not installed ($2)"
}

need "$NODE" 'Node.js runs the packaging helpers'
[ -f "$BUNDLE" ] || die "$BUNDLE is missing: run 'npm run build' first"

NPM_VERSION=$("$NODE" -p 'require(process.argv[1]).version' "$REPO/package.json")
# A pre-release (1.1.0-rc.1) becomes 1.1.0~rc.1, which dpkg and rpm sort
# before 1.1.0; rpm allows no '-' in a version anyway.
VERSION=${NPM_VERSION//-/\~}
CHANGELOG_VERSION=$("$NODE" "$PACKAGING/changelog.mjs" version)
[ "$CHANGELOG_VERSION" = "$VERSION" ] ||
  die "package.json says $NPM_VERSION but packaging/changelog starts with $CHANGELOG_VERSION: add an entry for $VERSION"
MAINTAINER=$("$NODE" "$PACKAGING/changelog.mjs" maintainer)
# Reproducible builds: every date in the packages is the newest changelog entry's.
SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$("$NODE" "$PACKAGING/changelog.mjs" epoch)}
export SOURCE_DATE_EPOCH

SUMMARY='Nagios/Icinga check plugin for the Linux connection-tracking table'
DESCRIPTION='check_conntrack reports how full the kernel'"'"'s connection-tracking table
(nf_conntrack) is, whether packets were dropped since the last check (from the
kernel'"'"'s counters and log), whether conntrack is loaded although no rule
needs it, and the state of every network namespace (containers, pods).
It ships the man page check_conntrack(8) and Icinga 2, Nagios, NRPE and
sudoers examples, none of them enabled.'

# stage_files ROOT PLUGIN_DIR: the plugin, the man page and the documentation
# every package carries, under ROOT. PLUGIN_DIR is where the monitoring
# plugins live on the target (/usr/lib/nagios/plugins or /usr/lib64/...).
stage_files() {
  local root=$1 plugin_dir=$2
  local doc="$root/usr/share/doc/$PACKAGE"
  install -d -m 0755 "$root$plugin_dir" "$root/usr/share/man/man8" \
    "$doc/examples/icinga2" "$doc/examples/nagios" "$doc/examples/nrpe" "$doc/examples/sudoers" "$doc/examples/systemd"

  # The bundle starts with '#!/usr/bin/env node'. Installed, it names the
  # packaged interpreter instead: monitoring cores, NRPE and cron run plugins
  # with a short or empty PATH, or one where another node comes first.
  local first
  first=$(head -n 1 "$BUNDLE")
  [ "$first" = '#!/usr/bin/env node' ] || die "$BUNDLE starts with '$first', not '#!/usr/bin/env node'"
  { echo '#!/usr/bin/node'; tail -n +2 "$BUNDLE"; } >"$root$plugin_dir/check_conntrack"
  chmod 0755 "$root$plugin_dir/check_conntrack"

  # The man page with this version on its title line, and paths for this target.
  sed -e "s|^\(\.TH CHECK_CONNTRACK 8 \"[^\"]*\"\) \"check_conntrack [^\"]*\"|\1 \"check_conntrack $NPM_VERSION\"|" \
    -e "s|/usr/lib/nagios/plugins|$plugin_dir|g" "$PACKAGING/check_conntrack.8" >"$root/usr/share/man/man8/check_conntrack.8"
  grep -q "^\.TH CHECK_CONNTRACK 8 \"[^\"]*\" \"check_conntrack $NPM_VERSION\"" "$root/usr/share/man/man8/check_conntrack.8" ||
    die 'packaging/check_conntrack.8 has no .TH CHECK_CONNTRACK 8 "DATE" "check_conntrack VERSION" line'
  gzip -9n "$root/usr/share/man/man8/check_conntrack.8"

  install -m 0644 "$REPO/README.md" "$doc/README.md"
  install -m 0644 "$REPO/schema/check_conntrack.schema.json" "$doc/check_conntrack.schema.json"
  install -m 0644 "$PACKAGING/icinga2/check_conntrack.conf" "$PACKAGING/icinga2/services.conf.example" "$doc/examples/icinga2/"
  install -m 0644 "$PACKAGING/nagios/commands.cfg" "$doc/examples/nagios/"
  sed "s|/usr/lib/nagios/plugins|$plugin_dir|g" "$PACKAGING/nrpe/check_conntrack.cfg" >"$doc/examples/nrpe/check_conntrack.cfg"
  install -m 0644 "$PACKAGING/sudoers/check_conntrack" "$doc/examples/sudoers/"
  chmod 0644 "$doc/examples/nrpe/check_conntrack.cfg"

  # Local alerting without a monitoring server, both off until the admin turns
  # them on: a commented-out cron line, and a timer nobody enables.
  install -d -m 0755 "$root/etc/cron.d" "$root/usr/lib/systemd/system"
  sed "s|/usr/lib/nagios/plugins|$plugin_dir|g" "$PACKAGING/cron/check_conntrack" >"$root/etc/cron.d/check_conntrack"
  chmod 0644 "$root/etc/cron.d/check_conntrack"
  sed "s|/usr/lib/nagios/plugins|$plugin_dir|g" "$PACKAGING/systemd/check_conntrack.service" >"$root/usr/lib/systemd/system/check_conntrack.service"
  install -m 0644 "$PACKAGING/systemd/check_conntrack.timer" "$root/usr/lib/systemd/system/check_conntrack.timer"
  chmod 0644 "$root/usr/lib/systemd/system/check_conntrack.service"
  # Mail from the timer needs a less hardened unit: a drop-in the admin copies, never active by itself.
  sed "s|/usr/lib/nagios/plugins|$plugin_dir|g" "$PACKAGING/systemd/mail.conf" >"$doc/examples/systemd/mail.conf"
  chmod 0644 "$doc/examples/systemd/mail.conf"
}

# clamp_times ROOT: every file's time to SOURCE_DATE_EPOCH.
clamp_times() {
  find "$1" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +
}

# out_dir [DIR]: where the packages go (default dist/), made absolute.
out_dir() {
  local dir=${1:-$REPO/dist}
  mkdir -p "$dir"
  (cd "$dir" && pwd)
}

# The state directory belongs to the monitoring user, mode 0700, so that no
# other local user can create it first (/var/tmp is open to all). Made at
# install for the first of these users that exists; the plugin falls back to
# /var/tmp/check_conntrack-UID for any other user. $1: the user names to try.
STATE_DIR=/var/lib/check_conntrack
state_dir_script() {
  cat <<SCRIPT
for user in $1; do
  if getent passwd "\$user" >/dev/null 2>&1; then
    install -d -m 0700 -o "\$user" -g "\$(id -gn "\$user")" $STATE_DIR
    # An existing directory keeps its owner and mode under install -d.
    chown "\$user:\$(id -gn "\$user")" $STATE_DIR && chmod 0700 $STATE_DIR
    break
  fi
done
SCRIPT
}
