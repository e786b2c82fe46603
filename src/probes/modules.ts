import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { preview } from '../parse/printable';
import { parseKernelRelease } from '../parse/kernel-release';
import { cmdlineOptions, modprobeOptions, parseBoolParam } from '../parse/modprobe-conf';
import { parseProcModules, type ModuleInfo } from '../parse/proc-modules';
import { readSmallFile } from './file-read';
import { configPath, procPath, sysPath, type HostPaths } from './host-paths';

/** One place nf_conntrack.enable_hooks is set, in the order the settings apply (the last wins). */
export interface HookSetting {
  readonly value: boolean;
  /** '/proc/cmdline' or the modprobe.d file and line. */
  readonly where: string;
  /** Command-line settings reach a built-in nf_conntrack too; modprobe.d ones only a module loaded by modprobe. */
  readonly kind: 'cmdline' | 'modprobe.d';
}

export interface ModulesMeasurement {
  /** /proc/modules; 'absent' on a kernel without module support. */
  readonly modules: { status: 'ok'; list: ModuleInfo[] } | { status: 'absent' } | { status: 'error'; reason: string };
  /** nf_conntrack.enable_hooks (5.13+) as sysfs shows it: Y tracks in every namespace, rules or not. */
  readonly enableHooks?: boolean;
  /**
   * enable_hooks as set where it can be seen: the kernel registers the
   * parameter with mode 0, so sysfs never shows it.
   */
  readonly hookSettings?: readonly HookSetting[];
  readonly kernel?: { major: number; minor: number };
  readonly release?: string;
}

/** /proc/modules of a busy host is a few KiB; this bounds a hostile one. */
const MAX_MODULES_BYTES = 4 * 1024 * 1024;

/** modprobe.d(5): the first directory holding a file name wins it; /lib is the pre-merged-/usr place. */
const MODPROBE_DIRS = ['etc/modprobe.d', 'run/modprobe.d', 'usr/local/lib/modprobe.d', 'usr/lib/modprobe.d', 'lib/modprobe.d'];

/** A host has tens of these files; the cap bounds a directory someone filled. */
const MAX_MODPROBE_FILES = 500;

/** The *.conf files modprobe reads, in the order it reads them. */
function modprobeFiles(host: HostPaths): string[] {
  const chosen = new Map<string, string>();
  for (const dir of MODPROBE_DIRS) {
    let names: string[];
    try {
      names = readdirSync(configPath(host, dir));
    } catch {
      continue;
    }
    for (const name of names.slice(0, MAX_MODPROBE_FILES)) {
      if (name.endsWith('.conf') && !chosen.has(name)) chosen.set(name, join(configPath(host, dir), name));
    }
  }
  return [...chosen.keys()].sort().map((name) => chosen.get(name)!);
}

async function probeHookSettings(host: HostPaths): Promise<HookSetting[]> {
  const settings: HookSetting[] = [];
  const add = (found: { value: string; line: number }[], where: (line: number) => string, kind: HookSetting['kind']): void => {
    for (const f of found) {
      const value = parseBoolParam(f.value);
      if (value !== undefined) settings.push({ value, where: where(f.line), kind });
    }
  };
  // kmod reads the command line before the files, so a modprobe.d line overrides it for a module.
  const cmdline = await readSmallFile(procPath(host, 'cmdline'));
  if (cmdline.status === 'ok') add(cmdlineOptions(cmdline.text, 'nf_conntrack', 'enable_hooks'), () => cmdline.path, 'cmdline');
  for (const file of modprobeFiles(host)) {
    const read = await readSmallFile(file);
    if (read.status === 'ok')
      add(modprobeOptions(read.text, 'nf_conntrack', 'enable_hooks'), (line) => `${file} line ${line}`, 'modprobe.d');
  }
  return settings;
}

export async function probeModules(host: HostPaths): Promise<ModulesMeasurement> {
  const [modules, hooks, release, hookSettings] = await Promise.all([
    readSmallFile(procPath(host, 'modules'), MAX_MODULES_BYTES),
    readSmallFile(sysPath(host, 'module/nf_conntrack/parameters/enable_hooks')),
    readSmallFile(procPath(host, 'sys/kernel/osrelease')),
    probeHookSettings(host),
  ]);
  let list: ModulesMeasurement['modules'];
  if (modules.status === 'ok') {
    const parsed = parseProcModules(modules.text);
    list = parsed.ok
      ? { status: 'ok', list: parsed.modules }
      : { status: 'error', reason: `unexpected content in ${modules.path}: ${parsed.reason}` };
  } else if (modules.status === 'missing') list = { status: 'absent' };
  else
    list = {
      status: 'error',
      reason: `cannot read ${modules.path}: ${modules.status === 'error' ? modules.message : 'permission denied'}`,
    };

  const hookText = hooks.status === 'ok' ? hooks.text.trim() : undefined;
  const releaseText = release.status === 'ok' ? preview(release.text.trim(), 64) || undefined : undefined;
  return {
    modules: list,
    enableHooks: hookText === undefined ? undefined : hookText === 'Y' || hookText === '1',
    hookSettings,
    kernel: releaseText ? parseKernelRelease(releaseText) : undefined,
    release: releaseText,
  };
}
