import { describe, expect, it } from 'vitest';
import { cmdlineOptions, modprobeOptions, parseBoolParam } from '../../src/parse/modprobe-conf';

describe('modprobeOptions: options lines of modprobe.d', () => {
  it('finds the parameter among others, in order, with line numbers', () => {
    const text = [
      '# keep tracking on everywhere (docker hosts)',
      'options nf_conntrack hashsize=65536 enable_hooks=1',
      'blacklist nf_conntrack_ipv4',
      'options nf_conntrack enable_hooks=0',
      '',
    ].join('\n');
    expect(modprobeOptions(text, 'nf_conntrack', 'enable_hooks')).toEqual([
      { value: '1', line: 2 },
      { value: '0', line: 4 },
    ]);
  });

  it('takes - for _ in names, joins continuation lines, and drops quotes', () => {
    const text = 'options nf-conntrack \\\n  hashsize=1024 \\\n  enable-hooks="Y"\n';
    expect(modprobeOptions(text, 'nf_conntrack', 'enable_hooks')).toEqual([{ value: 'Y', line: 1 }]);
  });

  it('a bare boolean parameter sets it', () => {
    expect(modprobeOptions('options nf_conntrack enable_hooks\n', 'nf_conntrack', 'enable_hooks')).toEqual([{ value: 'Y', line: 1 }]);
  });

  it('ignores comments, other modules, other commands and lookalike names', () => {
    const text = [
      '#options nf_conntrack enable_hooks=1',
      'options nf_conntrack_ipv4 enable_hooks=1',
      'install nf_conntrack /bin/true enable_hooks=1',
      'options nf_conntrack enable_hooks_x=1 x_enable_hooks=1',
      'options nf_conntrack',
    ].join('\n');
    expect(modprobeOptions(text, 'nf_conntrack', 'enable_hooks')).toEqual([]);
  });
});

describe('cmdlineOptions: module.param=value on /proc/cmdline', () => {
  it('finds the setting among other words', () => {
    const line = 'BOOT_IMAGE=/vmlinuz-6.1.0-50-amd64 root=UUID=1 ro quiet nf_conntrack.enable_hooks=1 console=ttyS0\n';
    expect(cmdlineOptions(line, 'nf_conntrack', 'enable_hooks')).toEqual([{ value: '1', line: 0 }]);
  });

  it('takes - for _, skips other modules, and stops at -- (init arguments)', () => {
    expect(cmdlineOptions('nf-conntrack.enable-hooks=y', 'nf_conntrack', 'enable_hooks')).toEqual([{ value: 'y', line: 0 }]);
    expect(cmdlineOptions('nf_conntrack_ipv4.enable_hooks=1 nf_conntrack.hashsize=1', 'nf_conntrack', 'enable_hooks')).toEqual([]);
    expect(cmdlineOptions('quiet -- nf_conntrack.enable_hooks=1', 'nf_conntrack', 'enable_hooks')).toEqual([]);
  });
});

describe('parseBoolParam: the kernel kstrtobool', () => {
  it.each([
    ['1', true],
    ['Y', true],
    ['yes', true],
    ['true', true],
    ['on', true],
    ['0', false],
    ['N', false],
    ['off', false],
    ['false', false],
    ['2', undefined],
    ['', undefined],
  ])('%s', (text, value) => expect(parseBoolParam(text)).toBe(value));
});
