#!/bin/bash
# Fake program for test/faults: floods 200 MiB of output that looks like what
# the program it replaces prints, in the shape most costly to the plugin (for
# the log readers: lines that all match 'table full'). Records how many bytes
# it has written in @WORK@/sent-<pid>, so the test can tell whether the plugin
# stopped reading (and the writer) early.
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

total=$((200 * 1024 * 1024))
read -r up _ < /proc/uptime
secs=${up%.*}
now=$EPOCHSECONDS
case "${0##*/}" in
  dmesg)
    head=''
    line="<4>[$(printf '%5d' "$secs").123456] nf_conntrack: nf_conntrack: table full, dropping packet" ;;
  journalctl)
    head=''
    line="$now.123456 fakehost kernel: nf_conntrack: nf_conntrack: table full, dropping packet" ;;
  conntrack)
    head=''
    line='cpu=0   	found=0 invalid=0 insert=0 insert_failed=0 drop=0 early_drop=0 error=0 search_restart=0 clash_resolve=0 chaintoolong=0' ;;
  nft)
    # `nft list ruleset` as the plugin reads it: exemptions only, so nothing lets it stop before its cap.
    head=$'table ip raw {\n\tchain PREROUTING {\n\t\ttype filter hook prerouting priority raw; policy accept;\n'
    line=$'\t\tudp dport 53 notrack' ;;
  *save)
    head=$'*raw\n:PREROUTING ACCEPT [0:0]\n'
    line='-A PREROUTING -p udp -m udp --dport 53 -j CT --notrack' ;;
  *)
    head=''
    line='flood' ;;
esac

# About 64 KiB per write: whole lines, joined.
chunk=''
while [ "${#chunk}" -lt 65536 ]; do chunk+="$line"$'\n'; done
printf '%s' "$head" || exit 1
sent=${#head}
# Recorded before the first chunk too: a reader that rejects the first line may
# stop the writer before one chunk is out, and that is a stop, not a fake that never wrote.
echo "$sent" > "@WORK@/sent-$$"
while [ "$sent" -lt "$total" ]; do
  printf '%s' "$chunk" || exit 1
  sent=$((sent + ${#chunk}))
  echo "$sent" > "@WORK@/sent-$$"
done
exit 0
