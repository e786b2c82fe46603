#!/bin/bash
# Fake program for test/faults: prints half a line, then dies of SIGSEGV (as a
# crashing C program would: exit status 139 to a shell).
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

printf 'partial output, then a crash'
trap - SEGV
kill -SEGV "$$"
# Not reached; if the signal were somehow ignored, fail the same way a shell reports it.
exit 139
