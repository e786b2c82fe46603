/**
 * Lines of 1 MB, for every parser: alone, inside a real input, after a valid
 * prefix. Each parser runs in a worker with a generous deadline (a hang detector,
 * not a benchmark): a linear parser takes milliseconds here, a quadratic one
 * minutes. Every parser must return (not throw) on every such input.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PARSERS } from './support/parser-worker';
import { fixtureTexts } from './support/hostile';
import { ParserWatchdog } from './support/watchdog';

const MB = 1 << 20;
/** Far beyond what a linear pass over 1 MB costs on any machine; far below what a quadratic one costs. */
const HANG_LIMIT_MS = 6_000;

/** 1 MB fillers of the shapes that make regexes and hand-written scanners go wrong. */
const FILLERS: Record<string, string> = {
  'spaces between words': `a${' '.repeat(MB)}b`,
  'spaces and tabs between words': `a${' \t'.repeat(MB / 2)}b`,
  'spaces only': ' '.repeat(MB),
  digits: '9'.repeat(MB),
  'hex digits': 'f'.repeat(MB),
  letters: 'a'.repeat(MB),
  NUL: '\0'.repeat(MB),
  'replacement characters': '\ufffd'.repeat(MB / 2),
  needles: 'nf_conntrack: table full, dropping packet suppressed '.repeat(MB / 52),
  brackets: '['.repeat(MB),
  'quotes and backslashes': '"\\'.repeat(MB / 2),
  'key=value': 'src=1.2.3.4 '.repeat(MB / 12),
  colons: ':'.repeat(MB),
  'JSON nesting': `${'['.repeat(MB / 2)}${']'.repeat(MB / 2)}`,
  'JSON object nesting': `${'{"a":'.repeat(MB / 10)}1${'}'.repeat(MB / 10)}`,
  'cpu= pairs': `cpu=0 ${'drop=1 '.repeat(MB / 7)}`,
  'repeated message': `message repeated 3 times: [ ${'x'.repeat(MB)}]`,
  'boot stamp': `[${' '.repeat(12)}${'1'.repeat(MB)}.1] x`,
  'dots and digits': '1.'.repeat(MB / 2),
  'slashes and parentheses': '/(a)'.repeat(MB / 4),
};

/** A representative valid input per parser, for the 1 MB line to land in. */
function contextFor(parser: string): string {
  const pick = (dir: string, i = 0) => fixtureTexts(dir)[i] ?? '';
  if (/PidStat/.test(parser)) return '4242 (nginx: worker) S 1 1 1 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 123456 1000 100\n';
  if (/Stat$|ConntrackStatistics/.test(parser)) return pick('stat', parser === 'parseConntrackStatistics' ? 6 : 3);
  if (/Modules/.test(parser)) return pick('modules', 4);
  if (/Iptables|declaredChains|tokenizeRule|classifyRule/.test(parser)) return pick('rules', 4);
  if (/Nft/.test(parser)) return pick('rules', 5);
  if (/Cgroup/.test(parser)) return pick('cgroup', 0);
  if (/Entry|EntryTally/.test(parser)) return pick('entries', 3);
  if (/Kmsg/.test(parser)) return pick('logs', 3);
  if (/Dmesg/.test(parser)) return pick('logs', 0);
  if (/Journal/.test(parser)) return pick('logs', 1);
  if (/Syslog|classifyMessage|Candidate|LogScanner/.test(parser)) return pick('logs', 2);
  if (/Status/.test(parser)) return 'Uid:\t0\t0\t0\t0\nGid:\t0\t0\t0\t0\nGroups:\t0\nCapEff:\t000001ffffffffff\n';
  if (/GroupFile/.test(parser)) return 'root:x:0:\nadm:x:4:syslog\n';
  if (/State/.test(parser)) return '{"version":1,"savedAtMs":1,"namespaces":{}}';
  return '6.8.0-45-generic\n';
}

type Place = 'alone' | 'a line in the middle' | "after the first line's text" | 'at the end, no newline';

function place(context: string, filler: string, where: Place): string {
  if (where === 'alone') return filler;
  const lines = context.split('\n');
  if (where === 'a line in the middle') {
    lines.splice(Math.floor(lines.length / 2), 0, filler);
    return lines.join('\n');
  }
  if (where === "after the first line's text") {
    lines[0] = `${lines[0] ?? ''} ${filler}`;
    return lines.join('\n');
  }
  return context + filler;
}

describe('lines of 1 MB', () => {
  let watchdog: ParserWatchdog;
  beforeAll(() => {
    watchdog = new ParserWatchdog();
  });
  afterAll(async () => {
    await watchdog.close();
  });

  const kinds = Object.keys(FILLERS);
  const places: Place[] = ['alone', 'a line in the middle', "after the first line's text", 'at the end, no newline'];

  it.each(Object.keys(PARSERS))(
    '%s returns on each of them',
    async (parser) => {
      const context = contextFor(parser);
      // Every filler at least once, in the middle of a real input; then random combinations.
      const examples: Array<[string, Place]> = kinds.map((k) => [k, 'a line in the middle']);
      await fc.assert(
        fc.asyncProperty(fc.constantFrom(...kinds), fc.constantFrom(...places), async (kind, where) => {
          const outcome = await watchdog.run(parser, place(context, FILLERS[kind] as string, where), HANG_LIMIT_MS);
          expect(outcome.ok, `${parser} on 1 MB of ${kind}, ${where}: ${outcome.ok ? '' : outcome.error}`).toBe(true);
        }),
        { examples, numRuns: examples.length + 4, endOnFailure: true },
      );
    },
    120_000,
  );
});
