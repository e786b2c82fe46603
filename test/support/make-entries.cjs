'use strict';
// Leaves a known number of conntrack entries of two kinds in the network
// namespace this process runs in, then exits (the entries outlive it):
//
//   TIME_WAIT_N loopback TCP connections, each opened to a listener of ours and
//     closed from the client side: the kernel keeps one TIME_WAIT entry per
//     connection (nf_conntrack_tcp_timeout_time_wait, 120 s by default);
//   UNREPLIED_N UDP datagrams, one from each of as many sockets bound at once
//     (so each has its own source port), to a UDP socket of ours that reads
//     them and never answers: one [UNREPLIED] entry each, for
//     nf_conntrack_udp_timeout (30 s by default). A receiver is there so that
//     no ICMP port unreachable comes back.
//
// Started by the breakdown test as
//   `ip netns exec NS node make-entries.cjs TIME_WAIT_N UNREPLIED_N`.
// Prints one line, {"tcpPort":p,"udpPort":q,"closed":t,"received":u,"sourcePorts":s},
// and exits 0 once every connection is closed on both sides and every datagram
// has arrived; exits 1 on an error and 3 when that takes more than 20 s.
// Plain CommonJS so that any Node the tests use can run it without a build.

const net = require('node:net');
const dgram = require('node:dgram');

const timeWaitWanted = Number(process.argv[2]);
const unrepliedWanted = Number(process.argv[3]);
const MAX = 10_000;
if (![timeWaitWanted, unrepliedWanted].every((n) => Number.isInteger(n) && n >= 0 && n <= MAX)) {
  process.stderr.write(`usage: make-entries.cjs TIME_WAIT_N UNREPLIED_N (each 0..${MAX})\n`);
  process.exit(2);
}

const LOOPBACK = '127.0.0.1';
// Bounded so that the listen backlog never overflows (a dropped SYN would be retried, not lost, but slowly).
const PARALLEL = 8;
const OVERALL_MS = 20_000;

const timer = setTimeout(() => {
  process.stderr.write(`make-entries: not done after ${OVERALL_MS} ms\n`);
  process.exit(3);
}, OVERALL_MS);

function fail(err) {
  process.stderr.write(`make-entries: ${err && err.message ? err.message : String(err)}\n`);
  process.exit(1);
}

/** Resolves once the client end of one connection has closed, having ended first. */
function oneConnection(port) {
  return new Promise((resolve, reject) => {
    const client = net.connect({ port, host: LOOPBACK });
    client.once('error', reject);
    // Our FIN goes first, so the client end is the one that waits in TIME_WAIT.
    client.once('connect', () => client.end());
    client.resume();
    client.once('close', (hadError) => (hadError ? reject(new Error('a connection closed with an error')) : resolve()));
  });
}

async function timeWaitEntries(n) {
  let serverClosed = 0;
  let allServerClosed;
  const done = new Promise((resolve) => (allServerClosed = resolve));
  const server = net.createServer({ allowHalfOpen: false }, (socket) => {
    socket.on('error', () => {});
    socket.resume();
    socket.once('close', () => {
      serverClosed += 1;
      if (serverClosed === n) allServerClosed();
    });
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port: 0, host: LOOPBACK, backlog: 256 }, resolve);
  });
  const { port } = server.address();
  let next = 0;
  let closed = 0;
  async function worker() {
    while (next < n) {
      next += 1;
      await oneConnection(port);
      closed += 1;
    }
  }
  await Promise.all(Array.from({ length: Math.min(PARALLEL, n) }, worker));
  // The server end closes once it has sent its FIN: the last ACK (the client's) follows at once.
  if (n > 0) await done;
  await new Promise((resolve) => server.close(resolve));
  return { port, closed };
}

async function unrepliedEntries(n) {
  const receiver = dgram.createSocket('udp4');
  let received = 0;
  let allArrived;
  const arrived = new Promise((resolve) => (allArrived = resolve));
  receiver.on('message', () => {
    received += 1;
    if (received === n) allArrived();
  });
  await new Promise((resolve, reject) => {
    receiver.once('error', reject);
    receiver.bind(0, LOOPBACK, resolve);
  });
  const port = receiver.address().port;
  // All bound before any sends, so that no two share a source port.
  const senders = await Promise.all(
    Array.from(
      { length: n },
      () =>
        new Promise((resolve, reject) => {
          const s = dgram.createSocket('udp4');
          s.once('error', reject);
          s.bind(0, LOOPBACK, () => resolve(s));
        }),
    ),
  );
  const sourcePorts = new Set(senders.map((s) => s.address().port)).size;
  await Promise.all(
    senders.map((s) => new Promise((resolve, reject) => s.send('x', port, LOOPBACK, (err) => (err ? reject(err) : resolve())))),
  );
  if (n > 0) await arrived;
  for (const s of senders) s.close();
  receiver.close();
  return { port, received, sourcePorts };
}

(async () => {
  const tcp = await timeWaitEntries(timeWaitWanted);
  const udp = await unrepliedEntries(unrepliedWanted);
  clearTimeout(timer);
  process.stdout.write(
    `${JSON.stringify({ tcpPort: tcp.port, udpPort: udp.port, closed: tcp.closed, received: udp.received, sourcePorts: udp.sourcePorts })}\n`,
    () => process.exit(0),
  );
})().catch(fail);
