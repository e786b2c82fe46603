/**
 * check_conntrack(8) kept in step with --help: every long option --help lists
 * has its entry under OPTIONS, with the same short form, and the page names
 * no option the plugin does not have. The page renders without warnings.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BUNDLE, describeWith, helpLongOptions, NODE, PACKAGING, run } from './support';

const PAGE_PATH = join(PACKAGING, 'check_conntrack.8');
const PAGE = readFileSync(PAGE_PATH, 'utf8');

/** roff source to the text it stands for, as far as option names go. */
function unroff(text: string): string {
  return text
    .replace(/\\-/g, '-')
    .replace(/\\f[BIRP]/g, '')
    .replace(/\\&/g, '');
}

/** Lines of one .SH section (up to the next .SH). */
function section(name: string): string[] {
  const lines = PAGE.split('\n');
  const start = lines.findIndex((l) => l === `.SH ${name}`);
  if (start < 0) throw new Error(`no .SH ${name} in ${PAGE_PATH}`);
  const end = lines.findIndex((l, i) => i > start && l.startsWith('.SH '));
  return lines.slice(start + 1, end < 0 ? undefined : end);
}

/** The tag line of each .TP entry under OPTIONS, as text. */
function optionTags(): string[] {
  const lines = section('OPTIONS');
  return lines.flatMap((l, i) => (lines[i - 1] === '.TP' ? [unroff(l)] : []));
}

function longOptionsIn(text: string): string[] {
  return [...text.matchAll(/(?<![\w-])--([a-z][a-z0-9]*(?:-[a-z0-9]+)*)/g)].map((m) => m[1]!);
}

/** `-w, --warning` pairs from --help. */
function helpShortForms(): Map<string, string> {
  const help = run([NODE, BUNDLE, '--help']).stdout;
  const pairs = new Map<string, string>();
  for (const m of help.matchAll(/^ {2}(-[A-Za-z]), --([a-z][a-z0-9-]*)/gm)) pairs.set(m[2]!, m[1]!);
  return pairs;
}

describeWith('check_conntrack(8)', {}, () => {
  const help = helpLongOptions();
  const tags = optionTags();
  const documented = new Set(tags.flatMap(longOptionsIn));

  it('has an OPTIONS entry for every long option of --help', () => {
    const undocumented = help.filter((o) => !documented.has(o));
    expect(undocumented, `options in --help without a .TP entry under OPTIONS in ${PAGE_PATH}`).toEqual([]);
  });

  it('documents no option that --help does not list', () => {
    const unknown = [...documented].filter((o) => !help.includes(o));
    expect(unknown, `.TP entries under OPTIONS for options the plugin does not have`).toEqual([]);
  });

  it('names no unknown option anywhere in the page', () => {
    const everywhere = new Set(longOptionsIn(unroff(PAGE)));
    expect([...everywhere].filter((o) => !help.includes(o))).toEqual([]);
  });

  it('gives each option the short form --help gives it', () => {
    for (const [long, short] of helpShortForms()) {
      const tag = tags.find((t) => longOptionsIn(t).includes(long));
      expect(tag, `--${long}`).toBeDefined();
      expect(tag!.split(/[\s,=]+/), `the tag of --${long}: ${tag}`).toContain(short);
    }
  });

  it('has the sections a man page of a plugin needs', () => {
    const sections = PAGE.split('\n')
      .filter((l) => l.startsWith('.SH '))
      .map((l) => l.slice(4));
    for (const name of [
      'NAME',
      'SYNOPSIS',
      'DESCRIPTION',
      'OPTIONS',
      'OUTPUT',
      'EXIT STATUS',
      'FILES',
      'PRIVILEGES',
      'EXAMPLES',
      'SEE ALSO',
    ]) {
      expect(sections).toContain(name);
    }
    // Every exit status, each with its state.
    const exit = section('EXIT STATUS').join('\n');
    for (const [code, state] of [
      ['0', 'OK'],
      ['1', 'WARNING'],
      ['2', 'CRITICAL'],
      ['3', 'UNKNOWN'],
    ]) {
      expect(exit).toMatch(new RegExp(`^\\.B ${code}\\n${state}:`, 'm'));
    }
  });

  it('has the title line the package builders put the version into', () => {
    expect(PAGE).toMatch(/^\.TH CHECK_CONNTRACK 8 "\d{4}-\d\d-\d\d" "check_conntrack [^"]+" "[^"]+"$/m);
  });

  it('lists the commands --sudo runs as the sudoers file allows them', () => {
    const sudo = tags.findIndex((t) => t.trim() === '.B --sudo');
    expect(sudo).toBeGreaterThanOrEqual(0);
    const text = unroff(section('OPTIONS').join('\n'));
    for (const command of ['dmesg -r', 'conntrack -S', 'conntrack -L', 'nft list ruleset']) expect(text).toContain(command);
  });
});

describeWith('check_conntrack(8) rendered', { programs: [['/usr/bin/groff', 'groff-base']] }, () => {
  it('renders with groff with no warnings at all', () => {
    const r = run(['/usr/bin/groff', '-t', '-man', '-Tutf8', '-ww', '-z', PAGE_PATH]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
  });

  it('fits an 80-column terminal, but for verbatim examples', () => {
    const r = run(['/usr/bin/groff', '-t', '-man', '-Tascii', '-rLL=78n', '-P-c', '-P-b', '-P-u', PAGE_PATH]);
    expect(r.code).toBe(0);
    // Lines of .EX blocks are command lines and output, printed as they are.
    const verbatim = new Set<string>();
    let inExample = false;
    for (const line of PAGE.split('\n')) {
      if (line === '.EX') inExample = true;
      else if (line === '.EE') inExample = false;
      else if (inExample) verbatim.add(unroff(line).replace(/\\e/g, '\\'));
    }
    const wide = r.stdout.split('\n').filter((l) => l.length > 80 && !verbatim.has(l.trim()));
    expect(wide).toEqual([]);
    expect(r.stdout).toContain('--exclude-unreplied');
  });
});

describe('the man page source', () => {
  it('is plain ASCII roff (no characters a terminal without UTF-8 would garble)', () => {
    // eslint-disable-next-line no-control-regex
    expect(PAGE).toMatch(/^[\x09\x0a\x20-\x7e]*$/);
  });
});
