'use strict';
// Opens N loopback TCP connections to a listener of its own, one after
// another, closes them and exits: each leaves a conntrack entry (TIME_WAIT)
// wherever connections are tracked. Prints {"opened":k}.
// Usage: node connect.cjs N
const net = require('node:net');

const wanted = Number(process.argv[2]);
const server = net.createServer((s) => s.on('error', () => {}).end());
server.listen({ port: 0, host: '127.0.0.1' }, async () => {
  let opened = 0;
  for (let i = 0; i < wanted; i++) {
    const ok = await new Promise((resolve) => {
      const s = net.connect({ port: server.address().port, host: '127.0.0.1' });
      const timer = setTimeout(() => (s.destroy(), resolve(false)), 1500);
      s.once('connect', () => (clearTimeout(timer), s.end(), resolve(true)));
      s.once('error', () => (clearTimeout(timer), resolve(false)));
    });
    if (ok) opened++;
  }
  process.stdout.write(`${JSON.stringify({ opened })}\n`);
  server.close();
  setTimeout(() => process.exit(0), 200);
});
