/**
 * The `options` lines of modprobe.d files (modprobe.d(5)) and the
 * `module.param=value` words of the kernel command line: the only places a
 * module parameter registered without a sysfs file (mode 0) can be seen.
 */

/** Module and parameter names treat '-' and '_' alike, in kmod and in the kernel. */
function normalName(name: string): string {
  return name.replace(/-/g, '_');
}

/** One parameter setting found, in the order the text gives them (the last one wins). */
export interface ParamSetting {
  readonly value: string;
  /** 1-based line of the file; 0 for the kernel command line. */
  readonly line: number;
}

/** Splits `a="b c" d` like kmod and the kernel do: double quotes group, and are dropped. */
function words(text: string): string[] {
  const out: string[] = [];
  const re = /(?:[^\s"]+|"[^"]*"?)+/g;
  for (const m of text.matchAll(re)) out.push(m[0].replace(/"/g, ''));
  return out;
}

/** `name=value`, or a bare `name`, which sets a boolean parameter to true. */
function setting(word: string, param: string): string | undefined {
  const eq = word.indexOf('=');
  const name = eq < 0 ? word : word.slice(0, eq);
  if (normalName(name) !== normalName(param)) return undefined;
  return eq < 0 ? 'Y' : word.slice(eq + 1);
}

/** Every `options MODULE ... PARAM=...` in a modprobe.d file, continuation lines joined. */
export function modprobeOptions(text: string, module: string, param: string): ParamSetting[] {
  const found: ParamSetting[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const first = i + 1;
    let line = lines[i]!;
    while (line.endsWith('\\') && i + 1 < lines.length) line = line.slice(0, -1) + lines[++i]!;
    const w = words(line.trim());
    if (w.length < 3 || w[0] !== 'options') continue;
    if (normalName(w[1]!) !== normalName(module)) continue;
    for (const word of w.slice(2)) {
      const value = setting(word, param);
      if (value !== undefined) found.push({ value, line: first });
    }
  }
  return found;
}

/** `MODULE.PARAM=value` words of /proc/cmdline (the kernel's, and kmod's for a module loaded later). */
export function cmdlineOptions(text: string, module: string, param: string): ParamSetting[] {
  const found: ParamSetting[] = [];
  const prefix = `${normalName(module)}.`;
  for (const word of words(text.trim())) {
    // Everything after a lone `--` goes to init, not to the kernel or modules.
    if (word === '--') break;
    const dot = word.indexOf('.');
    if (dot < 0 || normalName(word.slice(0, dot + 1)) !== prefix) continue;
    const value = setting(word.slice(dot + 1), param);
    if (value !== undefined) found.push({ value, line: 0 });
  }
  return found;
}

/** The kernel's kstrtobool: what a boolean parameter accepts; undefined for anything else. */
export function parseBoolParam(value: string): boolean | undefined {
  const v = value.toLowerCase();
  if ('yt1'.includes(v[0] ?? '-')) return true;
  if ('nf0'.includes(v[0] ?? '-')) return false;
  if (v === 'on') return true;
  if (v === 'off') return false;
  return undefined;
}
