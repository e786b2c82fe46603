#!/usr/bin/env bash
# Builds dist/check-conntrack-VERSION-1.noarch.rpm from dist/check_conntrack
# with rpmbuild (Debian package rpm): the plugin in /usr/lib64/nagios/plugins,
# Requires: nodejs >= 18.19.
#   bash packaging/build-rpm.sh [OUTPUT_DIR]
source "$(dirname -- "${BASH_SOURCE[0]}")/common.sh"
need rpmbuild 'Debian package rpm'
need gzip 'Debian package gzip'

RELEASE=1
PLUGIN_DIR=/usr/lib64/nagios/plugins
OUT=$(out_dir "${1:-}")
WORK=$(mktemp -d)
trap 'rm -rf -- "$WORK"' EXIT
STAGE="$WORK/stage"
DOC="$STAGE/usr/share/doc/$PACKAGE"
LICENSES="$STAGE/usr/share/licenses/$PACKAGE"

stage_files "$STAGE" "$PLUGIN_DIR"
install -m 0644 "$PACKAGING/changelog" "$DOC/changelog"
install -d -m 0755 "$LICENSES"
install -m 0644 "$PACKAGING/LICENSE" "$LICENSES/LICENSE"
"$NODE" "$PACKAGING/licenses.mjs" third-party >"$LICENSES/THIRD-PARTY-LICENSES"
chmod 0644 "$LICENSES/THIRD-PARTY-LICENSES"
# What the bundle holds decides it: check_conntrack and each bundled package.
LICENSE_EXPR=$("$NODE" "$PACKAGING/licenses.mjs" spdx)
clamp_times "$STAGE"

mkdir -p "$WORK/SPECS" "$WORK/RPMS" "$WORK/BUILD" "$WORK/tmp"
SPEC="$WORK/SPECS/$PACKAGE.spec"
cat >"$SPEC" <<SPEC
# The files are staged by packaging/build-rpm.sh; rpmbuild only packs them.
%global debug_package %{nil}
%global __os_install_post %{nil}
%global _build_id_links none

Name:           $PACKAGE
Version:        $VERSION
Release:        $RELEASE
Summary:        $SUMMARY
License:        $LICENSE_EXPR
BuildArch:      noarch
# Exactly these: no dependencies guessed from the files.
AutoReqProv:    no
Requires:       nodejs >= 18.19
# Fedora and RHEL give nodejs an Epoch (1:16.20.2), which rpm takes as newer
# than any 18.19 without one; their nodejs(engine) carries the plain version.
Requires:       (nodejs(engine) >= 18.19 if nodejs(engine))

%description
$DESCRIPTION

%install
cp -a "$STAGE/." "%{buildroot}/"

# Nagios runs checks as nagios, Icinga 2 as icinga, NRPE on Fedora and RHEL as nrpe.
%post
$(state_dir_script 'nagios icinga nrpe')

%postun
if [ "\$1" = 0 ]; then rm -rf $STATE_DIR; fi

%files
%defattr(-,root,root,-)
%dir /usr/lib64/nagios
%dir $PLUGIN_DIR
%attr(0755,root,root) $PLUGIN_DIR/check_conntrack
%attr(0644,root,root) /usr/share/man/man8/check_conntrack.8.gz
%dir /usr/share/doc/$PACKAGE
%doc /usr/share/doc/$PACKAGE/*
%dir /usr/share/licenses/$PACKAGE
%license /usr/share/licenses/$PACKAGE/LICENSE
%license /usr/share/licenses/$PACKAGE/THIRD-PARTY-LICENSES
%config(noreplace) %attr(0644,root,root) /etc/cron.d/check_conntrack
%attr(0644,root,root) /usr/lib/systemd/system/check_conntrack.service
%attr(0644,root,root) /usr/lib/systemd/system/check_conntrack.timer

%changelog
$("$NODE" "$PACKAGING/changelog.mjs" rpm "$RELEASE")
SPEC

rpmbuild -bb --quiet \
  --define "_topdir $WORK" \
  --define "_tmppath $WORK/tmp" \
  --define '_binary_payload w9.gzdio' \
  --define 'use_source_date_epoch_as_buildtime 1' \
  --define 'clamp_mtime_to_source_date_epoch 1' \
  --define '_buildhost reproducible' \
  "$SPEC" >"$WORK/rpmbuild.log" 2>&1 || { cat "$WORK/rpmbuild.log" >&2; die 'rpmbuild failed'; }

RPM="$OUT/$PACKAGE-$VERSION-$RELEASE.noarch.rpm"
rm -f -- "$RPM"
cp "$WORK/RPMS/noarch/$PACKAGE-$VERSION-$RELEASE.noarch.rpm" "$RPM"
echo "built $RPM ($(stat -c %s "$RPM") bytes)"
