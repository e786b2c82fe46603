'use strict';
// Holds N loopback TCP connections open so that each one is a conntrack entry
// in the network namespace this process runs in. Started by holdConnections()
// in netns.ts as `ip netns exec NS node hold-connections.cjs N [LIFETIME_S]`.
//
// Prints one line, {"opened":k,"failed":f}, once every attempt has connected or
// given up, then holds the connections until stdin closes or SIGTERM arrives.
// Plain CommonJS so that any Node the tests use can run it without a build.

const net = require('node:net');

const wanted = Number(process.argv[2]);
const lifetimeSeconds = Number(process.argv[3] ?? 120);
if (!Number.isInteger(wanted) || wanted < 0 || !(lifetimeSeconds > 0)) {
  process.stderr.write('usage: hold-connections.cjs N [LIFETIME_SECONDS]\n');
  process.exit(2);
}

// A SYN dropped on a full table is retransmitted only after 1 s, so an attempt
// that has not connected by then will not: count it as failed.
const CONNECT_TIMEOUT_MS = 1000;
// Bounded so a large N cannot overflow the listen backlog or exhaust descriptors.
const PARALLEL = 16;

const sockets = new Set();
let server;

function exit(code) {
  for (const s of sockets) s.destroy();
  if (server) server.close();
  process.exit(code);
}

process.on('SIGTERM', () => exit(0));
process.on('SIGINT', () => exit(0));
// The parent keeps our stdin open while it wants the connections; when it dies
// or closes the pipe, stdin ends and we must not outlive it.
process.stdin.on('end', () => exit(0));
process.stdin.on('error', () => exit(0));
process.stdin.resume();
// Last resort if the parent neither closes stdin nor signals us.
setTimeout(() => exit(3), lifetimeSeconds * 1000);
// The parent may be gone by the time we print; that is not our error to report.
process.stdout.on('error', () => {});

function connectOnce(port) {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host: '127.0.0.1' });
    const timer = setTimeout(() => {
      socket.destroy();
      resolve(false);
    }, CONNECT_TIMEOUT_MS);
    socket.once('connect', () => {
      clearTimeout(timer);
      sockets.add(socket);
      socket.on('error', () => sockets.delete(socket));
      resolve(true);
    });
    socket.once('error', () => {
      clearTimeout(timer);
      socket.destroy();
      resolve(false);
    });
  });
}

server = net.createServer((socket) => {
  sockets.add(socket);
  socket.on('error', () => sockets.delete(socket));
});
server.on('error', (err) => {
  process.stderr.write(`hold-connections: ${err.message}\n`);
  exit(1);
});
server.listen({ port: 0, host: '127.0.0.1', backlog: 1024 }, async () => {
  const { port } = server.address();
  let next = 0;
  let opened = 0;
  let failed = 0;
  async function worker() {
    while (next < wanted) {
      next += 1;
      if (await connectOnce(port)) opened += 1;
      else failed += 1;
    }
  }
  await Promise.all(Array.from({ length: Math.min(PARALLEL, wanted) }, worker));
  process.stdout.write(`${JSON.stringify({ opened, failed })}\n`);
});
