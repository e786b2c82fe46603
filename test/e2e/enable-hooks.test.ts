import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { describeRun, runBundle } from '../support/bundle';
import { copyFixture, rootArgs } from '../support/fixtures';

/**
 * nf_conntrack registers enable_hooks without a sysfs file: the setting is
 * read where a host keeps it, the kernel command line and modprobe.d under --root.
 */
describe('nf_conntrack.enable_hooks where a host sets it (fixture trees)', () => {
  it('an options line in usr/lib/modprobe.d under --root, and the same file name in etc that turns it off', () => {
    const copy = copyFixture('linux-6.8');
    try {
      mkdirSync(join(copy.dir, 'etc/modprobe.d'), { recursive: true });
      mkdirSync(join(copy.dir, 'usr/lib/modprobe.d'), { recursive: true });
      copy.write('usr/lib/modprobe.d/50-hooks.conf', '# docker\noptions nf_conntrack enable_hooks=1\n');
      let r = runBundle([...rootArgs(copy.dir), '--root', copy.dir, '-v']);
      expect(r.lines, describeRun(r)).toContain(
        `nf_conntrack.enable_hooks=1 (set in ${join(copy.dir, 'usr/lib/modprobe.d/50-hooks.conf')} line 2) tracks in every namespace`,
      );
      // The same name in /etc replaces the packaged file.
      copy.write('etc/modprobe.d/50-hooks.conf', 'options nf_conntrack enable_hooks=0\n');
      r = runBundle([...rootArgs(copy.dir), '--root', copy.dir, '-v']);
      expect(
        r.lines.some((l) => l.includes('enable_hooks')),
        describeRun(r),
      ).toBe(false);
    } finally {
      copy.dispose();
    }
  });

  it('nf_conntrack.enable_hooks=1 on proc/cmdline', () => {
    const copy = copyFixture('linux-6.8');
    try {
      copy.write('proc/cmdline', 'BOOT_IMAGE=/boot/vmlinuz-6.8.0-45-generic root=/dev/sda1 ro nf_conntrack.enable_hooks=1\n');
      const r = runBundle([...rootArgs(copy.dir), '--root', copy.dir, '-v']);
      expect(r.lines, describeRun(r)).toContain(
        `nf_conntrack.enable_hooks=1 (set in ${join(copy.dir, 'proc/cmdline')}) tracks in every namespace`,
      );
    } finally {
      copy.dispose();
    }
  });
});
