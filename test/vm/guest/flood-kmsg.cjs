'use strict';
// Writes N records to /dev/kmsg (one write per record), the way a chatty
// driver or a firewall's LOG rule fills the ring buffer.
// Usage: node flood-kmsg.cjs N
const fs = require('node:fs');

const n = Number(process.argv[2]);
const fd = fs.openSync('/dev/kmsg', 'w');
for (let i = 0; i < n; i++) fs.writeSync(fd, `<6>flood: record ${i} of ${n} from the VM test, nothing to see here\n`);
fs.closeSync(fd);
