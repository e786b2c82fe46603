/**
 * The README is a front door and docs/ holds the rest: every option of the
 * built bundle's --help is in docs/options.md (and nothing else is), every
 * relative link of the README and docs/ leads to a file, and nothing in them
 * refers to the project's own history (field reports, issues).
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO, runBundle } from '../support/bundle';

const DOCS = join(REPO, 'docs');
const pages = () => [
  join(REPO, 'README.md'),
  ...readdirSync(DOCS)
    .filter((f) => f.endsWith('.md'))
    .map((f) => join(DOCS, f)),
];

function helpOptions(): string[] {
  const help = runBundle(['--help']);
  expect(help.code).toBe(3);
  const names = [...help.stdout.matchAll(/^ {2}(?:-[A-Za-z], )?--([a-z][a-z0-9-]*)/gm)].map((m) => m[1]!);
  expect(names.length).toBeGreaterThan(10);
  return names;
}

describe('README.md and docs/', () => {
  it('docs/options.md lists every option of --help, and no other', () => {
    const help = helpOptions();
    const text = readFileSync(join(DOCS, 'options.md'), 'utf8');
    const listed = new Set([...text.matchAll(/(?<![\w-])--([a-z][a-z0-9]*(?:-[a-z0-9]+)*)/g)].map((m) => m[1]!));
    expect(
      help.filter((o) => !listed.has(o)),
      'options of --help missing from docs/options.md',
    ).toEqual([]);
    expect(
      [...listed].filter((o) => !help.includes(o)),
      'options in docs/options.md that --help does not have',
    ).toEqual([]);
  });

  it('the README is a front door: the two commands first, about 150 lines', () => {
    const readme = readFileSync(join(REPO, 'README.md'), 'utf8');
    expect(readme.split('\n').length).toBeLessThanOrEqual(170);
    const firstBlock = readme.split('```')[1] ?? '';
    expect(firstBlock).toContain('npm ci && npm start');
    expect(firstBlock).toContain('npm ci && npm test');
  });

  it('every relative link leads to a file', () => {
    const broken: string[] = [];
    for (const page of [...pages(), join(REPO, 'test/fixtures/README.md')]) {
      for (const m of readFileSync(page, 'utf8').matchAll(/\]\(([^)#\s]+)(#[^)]*)?\)/g)) {
        const target = m[1]!;
        if (/^[a-z]+:/.test(target)) continue;
        if (!existsSync(resolve(dirname(page), target))) broken.push(`${page.slice(REPO.length + 1)}: ${target}`);
      }
    }
    expect(broken).toEqual([]);
  });

  it("names no field report or issue of the project's own history", () => {
    for (const page of pages()) {
      const text = readFileSync(page, 'utf8');
      expect(text, page).not.toMatch(/\bseeds? \d{3}\b|\bissue #?\d+\b|\bthe issue's\b/i);
    }
  });
});
