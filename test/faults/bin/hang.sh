#!/bin/bash
# Fake program for test/faults: hangs forever and ignores SIGTERM.
#
# Templates: the test replaces @WORK@ (its scratch directory), @TARGET@ (the
# name of the program this fake stands in for) and @MARKER@ (a
# string unique to the test run) and bind-mounts the result over the real
# program inside a private mount namespace. The first lines record this
# process's PID and re-exec it under the marker name, so that the test can find
# it in /proc afterwards (same PID: exec keeps it).

# Bind mounts follow symlinks, so a multi-call binary (xtables-legacy-multi)
# is covered whole: under any name but @TARGET@ (the ip6tables twin of an
# iptables listing) answer like an empty listing, so only the program under
# test misbehaves.
if [ "${0##*/}" != '@TARGET@' ]; then exit 0; fi

if [ -z "${CC_FAULT_FAKE-}" ]; then
  echo "$$" >> '@WORK@/pids'
  CC_FAULT_FAKE=1 exec -a '@MARKER@' /bin/bash "$0" "$@"
fi

# SIG_IGN survives exec: sleep ignores SIGTERM too. One process, no children,
# so that the only way to end it is SIGKILL from whoever started it.
trap '' TERM HUP INT
exec -a '@MARKER@' /bin/sleep infinity
