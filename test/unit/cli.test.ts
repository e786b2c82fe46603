import { describe, expect, it } from 'vitest';
import { version } from '../../package.json';
import { parseCommandLine } from '../../src/runtime/cli';
import { State } from '../../src/nagios/state';

function options(args: string[]) {
  const r = parseCommandLine(args);
  if (r.kind !== 'run') throw new Error(`expected options, got ${JSON.stringify(r)}`);
  return r.options;
}

describe('parseCommandLine', () => {
  it('has the documented defaults', () => {
    const o = options([]);
    expect(o.warning).toMatchObject({ end: 80, percent: true });
    expect(o.critical).toMatchObject({ end: 90, percent: true });
    expect(o).toMatchObject({ notLoaded: State.OK, timeoutSeconds: 10, verbosity: 0, procRoot: '/proc', sysRoot: '/sys' });
  });

  it('takes short and long forms, attached values and negative ranges', () => {
    expect(options(['-w', '70%', '--critical=85%'])).toMatchObject({ warning: { end: 70 }, critical: { end: 85 } });
    expect(options(['-w70%'])).toMatchObject({ warning: { end: 70 } });
    expect(options(['-w', '-5:10'])).toMatchObject({ warning: { start: -5, end: 10 } });
    expect(options(['--not-loaded', 'CRITICAL'])).toMatchObject({ notLoaded: State.CRITICAL });
    expect(options([])).toMatchObject({ otherNamespacesDrops: State.WARNING });
    expect(options(['--other-namespaces-drops', 'ok'])).toMatchObject({ otherNamespacesDrops: State.OK });
    expect(options(['--other-namespaces-drops=critical'])).toMatchObject({ otherNamespacesDrops: State.CRITICAL });
    expect(options(['-t', '2.5'])).toMatchObject({ timeoutSeconds: 2.5 });
  });

  it('counts -v up to 3', () => {
    expect(options(['-v']).verbosity).toBe(1);
    expect(options(['-vv']).verbosity).toBe(2);
    expect(options(['-v', '-v', '-v']).verbosity).toBe(3);
    expect(options(['-vvvvv']).verbosity).toBe(3);
  });

  it('answers --help and --version with text', () => {
    const help = parseCommandLine(['--help']);
    expect(help.kind).toBe('info');
    expect(help.kind === 'info' && help.text).toContain('Usage: check_conntrack');
    expect(parseCommandLine(['-V'])).toEqual({ kind: 'info', text: `${version}\n` });
  });

  it.each([
    [['--bogus'], "unknown option '--bogus'"],
    [['-w', '2:1'], "invalid range '2:1': start is greater than end"],
    [['-c', ''], "invalid range '': it is empty"],
    [['-t', '0'], "'0' is not a number of seconds"],
    [['-t', 'ten'], "'ten' is not a number of seconds"],
    [['--not-loaded', 'maybe'], "'maybe' is not one of ok, warning, critical, unknown"],
    // Messages of other namespaces are a known finding: never UNKNOWN.
    [['--other-namespaces-drops', 'unknown'], "'unknown' is not one of ok, warning, critical"],
    [['surplus'], 'too many arguments'],
    [['-w'], "option '-w, --warning <range>' argument missing"],
    [['--state-file', 'state.json'], "'state.json' is not an absolute path (it must begin with /)"],
    [['--state-file', '../etc/nagios/nrpe.cfg'], 'is not an absolute path'],
    [['--state-file', '-v'], "'-v' begins with '-': give the absolute path of the file"],
    [['--state-file=--no-state'], "'--no-state' begins with '-'"],
  ])('refuses %j', (args, message) => {
    const r = parseCommandLine(args);
    expect(r.kind).toBe('usage-error');
    if (r.kind === 'usage-error') {
      expect(r.message).toContain(message);
      expect(r.usage[0]).toMatch(/^Usage: check_conntrack /);
    }
  });
});
