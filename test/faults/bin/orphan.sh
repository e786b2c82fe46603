#!/bin/bash
# Fake program for test/faults: starts a helper that inherits its output and
# hangs (as a wrapper script around the real program might), then hangs
# itself. Both ignore SIGTERM; both are in the process group the plugin started.
# The helper's PID is recorded too.
# @WORK@, @MARKER@ and @TARGET@ are filled in by the test (see hang.sh).

# Bind mounts follow symlinks, so a multi-call binary (xtables-legacy-multi)
# is covered whole: under any name but @TARGET@ (the ip6tables twin of an
# iptables listing) answer like an empty listing, so only the program under
# test misbehaves.
if [ "${0##*/}" != '@TARGET@' ]; then exit 0; fi

if [ -z "${CC_FAULT_FAKE-}" ]; then
  echo "$$" >> '@WORK@/pids'
  CC_FAULT_FAKE=1 exec -a '@MARKER@' /bin/bash "$0" "$@"
fi

trap '' TERM HUP INT
(exec -a '@MARKER@-helper' /bin/sleep infinity) &
echo "$!" >> '@WORK@/pids'
exec -a '@MARKER@' /bin/sleep infinity
