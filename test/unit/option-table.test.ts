/**
 * The option table is the one definition of every option: the committed
 * texts made from it are current, the JSON schema's thresholds are the
 * table's, and --help shows each option once.
 */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseCommandLine } from '../../src/runtime/cli';
import { withIcingaArguments, withOptionsMarkdown, withSchemaThresholds } from '../../src/runtime/option-docs';
import { OPTION_TABLE, type OptionSpec } from '../../src/runtime/option-table';

const REPO = resolve(__dirname, '../..');
const read = (path: string) => readFileSync(join(REPO, path), 'utf8');
const specs = OPTION_TABLE as readonly OptionSpec<string, unknown>[];

describe('the option table', () => {
  it.each([
    ['docs/options.md', withOptionsMarkdown],
    ['packaging/icinga2/check_conntrack.conf', withIcingaArguments],
    ['schema/check_conntrack.schema.json', withSchemaThresholds],
  ])('%s is what npm run generate makes of it', (path, make) => {
    const text = read(path);
    expect(make(text), `${path} is out of date: run npm run generate`).toBe(text);
  });

  it("the JSON schema's thresholds are exactly the table's, all required", () => {
    const schema = JSON.parse(read('schema/check_conntrack.schema.json'));
    const thresholds = schema.properties.thresholds;
    const names = specs.filter((s) => s.json).map((s) => s.json!.name);
    expect(Object.keys(thresholds.properties).sort()).toEqual([...names].sort());
    expect([...thresholds.required].sort()).toEqual([...names].sort());
  });

  it('gives every option one key, one long name and a help text', () => {
    const keys = specs.map((s) => s.key);
    const longs = specs.map((s) => /--([a-z][a-z0-9-]*)/.exec(s.flags)?.[1]);
    expect(new Set(keys).size).toBe(keys.length);
    expect(new Set(longs).size).toBe(longs.length);
    for (const s of specs) expect(s.help.length, s.flags).toBeGreaterThan(5);
  });

  it('parses to an Options object with every key of the table and its defaults', () => {
    const outcome = parseCommandLine([]);
    expect(outcome.kind).toBe('run');
    if (outcome.kind !== 'run') return;
    expect(Object.keys(outcome.options).sort()).toEqual(specs.map((s) => s.key).sort());
    expect(outcome.options.noState).toBe(false);
    expect(outcome.options.timeoutSeconds).toBe(10);
    const given = parseCommandLine(['--no-state', '--exclude-unreplied', '-vvvv']);
    expect(given.kind === 'run' && [given.options.noState, given.options.breakdown, given.options.verbosity]).toEqual([true, true, 3]);
  });
});
