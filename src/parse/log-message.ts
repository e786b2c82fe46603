/**
 * What a kernel message says about conntrack drops: a packet dropped because the
 * table was full (naming its namespace on 6.17+), or a count of messages the
 * ratelimit suppressed. A log can hold millions of lines, so `mightMatter` lets a
 * caller skip nearly all of them with two substring searches, and the classifier
 * looks only at a bounded window before each needle.
 */

/** What a kernel log message says about conntrack drops. */
export type LogEvent = { kind: 'table-full'; netns?: number } | { kind: 'suppressed'; count: number };

// Both needles are in every message classifyMessage accepts, and in every line that
// carries one, so a false from mightMatter can never hide an event.
export const TABLE_FULL = 'table full';
export const SUPPRESSED = 'suppressed';

/** Cheap test to run before any parsing: true when a line might be a drop or suppression message. */
export function mightMatter(line: string): boolean {
  return typeof line === 'string' && (line.includes(TABLE_FULL) || line.includes(SUPPRESSED));
}

const TABLE_FULL_BYTES = Buffer.from(TABLE_FULL);
const SUPPRESSED_BYTES = Buffer.from(SUPPRESSED);

/**
 * mightMatter for raw bytes, before they are decoded: the needles are ASCII,
 * so this is never false where mightMatter of the decoded text is true.
 */
export function mightMatterBytes(raw: Buffer): boolean {
  return raw.includes(TABLE_FULL_BYTES) || raw.includes(SUPPRESSED_BYTES);
}

// The prefix is looked for only in the few characters before "table full", so its
// length must be bounded: 1 + 13 + 4 + 13 + 4 = 35 characters at most, which the
// window of 40 covers; a match can then only touch ^ at the real start of the text.
// The character before the prefix may be anything but a word character or a quote:
// "kernel: ", "<4>", "] " and the mangled "Kernel:ip_conntrack" pass, while a
// user-space line quoting "'nf_conntrack: table full, ...'" does not.
const DROP_PREFIX = /(?:^|[^\w'"`])(?:nf|ip)_conntrack:[ \t]{0,4}(?:(?:nf|ip)_conntrack:[ \t]{0,4})?$/i;
const DROP_PREFIX_WINDOW = 40;
// Case-insensitive for copies such as "table full, Dropping packet." seen in the wild;
// "expectation table full" fails the prefix test, "falling back to vmalloc" never gets here.
const DROP_REST = /table full(?: in netns (\d+))?,[ \t]{0,4}dropping packet/iy;

// "<name>: N callbacks suppressed", the name being the ratelimit state's (net_ratelimit,
// __ratelimit, a function name), and "printk: N messages suppressed." (2.6.18). Only
// the name's last character is needed, which keeps the window bounded:
// 1 + 1 + 4 + 16 + 4 + 9 = 35 characters.
const SUPPRESSED_HEAD = /[^\s:]:[ \t]{0,4}(\d{1,16})[ \t]{1,4}(?:callbacks|messages)$/;
const SUPPRESSED_WINDOW = 40;
const SUPPRESSED_TAIL = ' ' + SUPPRESSED;

// A real message holds one needle; a mangled copy that glued several messages into
// one line holds a few. The cap keeps a hostile line of repeated needles cheap.
const MAX_TRIES = 16;

/** Classifies a message text (timestamp/prefix already removed). undefined for anything else. */
export function classifyMessage(text: string): LogEvent | undefined {
  if (typeof text !== 'string') return undefined;
  let tries = 0;
  for (let at = text.indexOf(TABLE_FULL); at !== -1 && tries < MAX_TRIES; at = text.indexOf(TABLE_FULL, at + 1), tries++) {
    const event = dropAt(text, at);
    if (event) return event;
  }
  tries = 0;
  for (let at = text.indexOf(SUPPRESSED_TAIL); at !== -1 && tries < MAX_TRIES; at = text.indexOf(SUPPRESSED_TAIL, at + 1), tries++) {
    const event = suppressedAt(text, at);
    if (event) return event;
  }
  return undefined;
}

function dropAt(text: string, at: number): LogEvent | undefined {
  if (!DROP_PREFIX.test(text.slice(Math.max(0, at - DROP_PREFIX_WINDOW), at))) return undefined;
  DROP_REST.lastIndex = at;
  const m = DROP_REST.exec(text);
  if (!m) return undefined;
  if (m[1] === undefined) return { kind: 'table-full' };
  const netns = Number(m[1]);
  // A namespace number is an inode number (32 bits); a longer one is corruption, but
  // the packet was still dropped.
  return Number.isSafeInteger(netns) ? { kind: 'table-full', netns } : { kind: 'table-full' };
}

function suppressedAt(text: string, at: number): LogEvent | undefined {
  const m = SUPPRESSED_HEAD.exec(text.slice(Math.max(0, at - SUPPRESSED_WINDOW), at));
  if (!m || m[1] === undefined) return undefined;
  const count = Number(m[1]);
  return Number.isSafeInteger(count) ? { kind: 'suppressed', count } : undefined;
}
