'use strict';
// Reads /dev/kmsg to its end the way the plugin does (non-blocking, one record
// per read) and prints "RECORDS MILLISECONDS": what the reads alone cost, with
// no parsing and no node start-up, to tell where a scan's time goes.
const fs = require('node:fs');

const started = process.hrtime.bigint();
const fd = fs.openSync('/dev/kmsg', fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
const buf = Buffer.alloc(16 * 1024);
let records = 0;
for (;;) {
  try {
    if (fs.readSync(fd, buf, 0, buf.length, null) === 0) break;
    records++;
  } catch (err) {
    if (err.code === 'EAGAIN') break;
    if (err.code !== 'EPIPE') throw err;
  }
}
fs.closeSync(fd);
console.log(`${records} ${(Number(process.hrtime.bigint() - started) / 1e6).toFixed(0)}`);
