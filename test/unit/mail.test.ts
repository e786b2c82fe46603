import { InvalidArgumentError } from 'commander';
import { describe, expect, it } from 'vitest';
import { decideNotice, type NoticeDecision } from '../../src/nagios/changes';
import { State } from '../../src/nagios/state';
import { parseCommandLine } from '../../src/runtime/cli';
import { mailMessage, mailsThisRun, mailSubject, quotedPrintable } from '../../src/runtime/mail';
import { mailAddressArgument } from '../../src/runtime/options';
import type { SavedNotice } from '../../src/state/schema';

const T0 = Date.UTC(2026, 11, 7, 5, 0, 0);
const STATUS =
  'CONNTRACK CRITICAL - 95.3% of table used (250000 of 262144 entries) | entries=250000;209715;235929;0;262144 usage=95.3%;80;90;0;100';

describe('--mail-to ADDRESS', () => {
  it.each(['root', 'nagios', 'ops@example.com', 'ops+conntrack@mail.example.com', 'first.last@example.co.uk', 'a_b-c=d@x-1.example'])(
    'takes %s',
    (address) => {
      expect(mailAddressArgument(address)).toBe(address);
    },
  );

  it.each([
    ['', /it is empty/],
    ['-v', /'-v' begins with '-'/],
    ['-oi', /begins with '-'/],
    ['root ops', /white space/],
    ['root\nBcc: victim@example.com', /white space/],
    ['root\t', /white space/],
    ['root,ops', /is a list: give one address, an alias in \/etc\/aliases/],
    ['root;ops', /is a list/],
    ['|/bin/sh', /is not a mail address/],
    ['/var/tmp/x', /is not a mail address/],
    ['root@', /is not a mail address/],
    ['@example.com', /is not a mail address/],
    ['a@b@c', /is not a mail address/],
    ['a@-x.example', /is not a mail address/],
    ['<root>', /is not a mail address/],
    ['"root"@example.com', /is not a mail address/],
    [`${'a'.repeat(250)}@b.cd`, /is not a mail address/],
  ])('refuses %j', (address, why) => {
    expect(() => mailAddressArgument(address)).toThrow(InvalidArgumentError);
    expect(() => mailAddressArgument(address)).toThrow(why);
  });

  it('a refused address is a usage error that names the option', () => {
    const cli = parseCommandLine(['--mail-to', 'root,ops']);
    expect(cli.kind).toBe('usage-error');
    expect(cli.kind === 'usage-error' && cli.message).toMatch(/^option '--mail-to <address>' argument 'root,ops' is invalid\. /);
  });

  it('is unset by default and kept as given', () => {
    const none = parseCommandLine([]);
    const some = parseCommandLine(['--mail-to', 'root']);
    expect(none.kind === 'run' && none.options.mailTo).toBeUndefined();
    expect(some.kind === 'run' && some.options.mailTo).toBe('root');
  });
});

describe('the mail', () => {
  it('is the headers, a blank line and exactly what was printed', () => {
    const output = `${STATUS}\ntable: 250000 of 262144 entries used (95.3%), 12144 free\n`;
    expect(mailMessage('root', output)).toBe(
      [
        'To: root',
        'Subject: CONNTRACK CRITICAL - 95.3% of table used (250000 of 262144 entries)',
        'Auto-Submitted: auto-generated',
        'MIME-Version: 1.0',
        'Content-Type: text/plain; charset=utf-8',
        'Content-Transfer-Encoding: 8bit',
        '',
        output,
      ].join('\n'),
    );
  });

  it('goes quoted-printable when a line is longer than the 998 bytes a mail line may be, and decodes to exactly what was printed', () => {
    const perf = Array.from({ length: 60 }, (_, i) => `ns_${i}_entries=${i * 1000};8000;9000;0;10000`).join(' ');
    const output = `${STATUS} | ${perf}\nnamespace “café” = 95% full \t\n`;
    expect(Buffer.byteLength(output.split('\n')[0]!)).toBeGreaterThan(998);
    const message = mailMessage('root', output);
    expect(message).toContain('Content-Transfer-Encoding: quoted-printable\n');
    const body = message.slice(message.indexOf('\n\n') + 2);
    expect(body.split('\n').every((line) => line.length <= 76 && /^[\x20-\x7e]*$/.test(line))).toBe(true);
    // RFC 2045's decoding: soft breaks go, =XX are bytes.
    const decoded = Buffer.from(
      body.replace(/=\n/g, '').replace(/=([0-9A-F]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16))),
      'latin1',
    ).toString('utf8');
    expect(decoded).toBe(output);
    expect(quotedPrintable('a = b\t\n€ ')).toBe('a =3D b=09\n=E2=82=AC=20');
  });

  it('stays 8bit when every line fits', () => {
    expect(mailMessage('root', `${'x'.repeat(998)}\n`)).toContain('Content-Transfer-Encoding: 8bit\n');
    expect(mailMessage('root', `${'x'.repeat(999)}\n`)).toContain('Content-Transfer-Encoding: quoted-printable\n');
  });

  it('ends with a newline even when the output does not', () => {
    expect(mailMessage('root', 'CONNTRACK UNKNOWN - x').endsWith('\n\nCONNTRACK UNKNOWN - x\n')).toBe(true);
  });

  it('has the status line without perfdata as its subject, cut to 200 characters', () => {
    expect(mailSubject(`${STATUS}\nmore\n`)).toBe('CONNTRACK CRITICAL - 95.3% of table used (250000 of 262144 entries)');
    expect(mailSubject('CONNTRACK OK - recovered after 1h 55m: 0.3% of table used\nwas CRITICAL\n')).toBe(
      'CONNTRACK OK - recovered after 1h 55m: 0.3% of table used',
    );
    const long = mailSubject(`CONNTRACK WARNING - ${'x'.repeat(500)} | a=1\n`);
    expect(long).toHaveLength(200);
    expect(long.endsWith('x...')).toBe(true);
  });

  it('with --format json, has the JSON summary as its subject and the JSON as its body', () => {
    const json = `${JSON.stringify({ format: 1, state: 'WARNING', summary: 'CONNTRACK WARNING - 84.0% of table used' }, null, 2)}\n`;
    expect(mailSubject(json)).toBe('CONNTRACK WARNING - 84.0% of table used');
    expect(mailMessage('root', json).endsWith(`\n\n${json}`)).toBe(true);
  });

  it('writes a subject that is not ASCII as RFC 2047 words of UTF-8, each within a header line', () => {
    const message = mailMessage('root', 'CONNTRACK WARNING - namespace “café-prod” is 85% full: ünïcödé everywhere in this line\n');
    const subject = /^Subject: (.*(?:\n .*)*)$/m.exec(message)![1]!;
    const words = subject.split('\n ');
    expect(words.length).toBeGreaterThan(1);
    for (const w of words) {
      expect(w).toMatch(/^=\?utf-8\?B\?[A-Za-z0-9+/=]+\?=$/);
      expect(w.length).toBeLessThanOrEqual(75);
    }
    const decoded = words.map((w) => Buffer.from(w.slice(10, -2), 'base64').toString('utf8')).join('');
    expect(decoded).toBe('CONNTRACK WARNING - namespace “café-prod” is 85% full: ünïcödé everywhere in this line');
  });
});

describe('when a run mails', () => {
  const notice = (state: State, previous?: SavedNotice, unkept?: string): NoticeDecision =>
    decideNotice({ previous, state, summary: 's', nowMs: T0, repeatSeconds: 3600, unkept });
  const was = (state: State, minutesAgo: number): SavedNotice => ({
    state,
    ...(state !== State.OK ? { problemSinceMs: T0 - minutesAgo * 60_000 } : {}),
    printedMs: T0 - minutesAgo * 60_000,
    summary: 'before',
  });

  it.each<[string, State, NoticeDecision | undefined, boolean]>([
    // Without --changes-only: every run that is not OK, never an OK one.
    ['OK, no --changes-only', State.OK, undefined, false],
    ['WARNING, no --changes-only', State.WARNING, undefined, true],
    ['CRITICAL, no --changes-only', State.CRITICAL, undefined, true],
    ['UNKNOWN, no --changes-only (or a run that timed out)', State.UNKNOWN, undefined, true],
    // With --changes-only: exactly the runs that print.
    ['the first problem', State.CRITICAL, notice(State.CRITICAL, was(State.OK, 5)), true],
    ['the same problem again', State.CRITICAL, notice(State.CRITICAL, was(State.CRITICAL, 5)), false],
    ['a change of state', State.WARNING, notice(State.WARNING, was(State.CRITICAL, 5)), true],
    ['a reminder after --repeat', State.CRITICAL, notice(State.CRITICAL, was(State.CRITICAL, 60)), true],
    ['the recovery', State.OK, notice(State.OK, was(State.CRITICAL, 5)), true],
    ['OK again', State.OK, notice(State.OK, was(State.OK, 5)), false],
    ['a first OK run', State.OK, notice(State.OK), false],
    ['OK, state not kept', State.OK, notice(State.OK, undefined, 'no state'), true],
    ['CRITICAL, state not kept', State.CRITICAL, notice(State.CRITICAL, undefined, 'no state'), true],
  ])('%s: %s', (_name, state, decision, mails) => {
    expect(mailsThisRun(state, decision)).toBe(mails);
  });
});
