#!/bin/bash
# Fake program for test/faults: exits 0 after printing bytes no real version
# of any program the plugin runs would print: control characters, NUL bytes,
# invalid UTF-8, a missing final newline.
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

printf '\x7fELF\x02\x01\x01\x00\x00\x00\xff\xfe\xfd garbage \x1b[31m not a listing\n'
printf '%s\n' '}}}{{{ ]]][[[ ,,, ::: === cpu= found== table full?? <99999999999999999999999>[ -1.-1]'
printf '\xc3\x28\xa0\xa1\xe2\x28\xa1\xf0\x28\x8c\xbc\n\x00\x00\x00'
printf 'no newline at the end'
exit 0
