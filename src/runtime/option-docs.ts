import { OPTION_TABLE, type OptionGroup, type OptionSpec } from './option-table';
import { countRangeArgument } from './options';

/*
 * The texts made from the option table: the list in docs/options.md, the
 * arguments of the Icinga 2 CheckCommand and the thresholds of the JSON schema. `npm run generate` writes them; a
 * test fails when a committed copy differs, so a new option is added in one
 * place.
 */

const specs = OPTION_TABLE as readonly OptionSpec<string, unknown>[];

const GROUP_TITLES: Record<OptionGroup, string> = {
  table: 'Table usage',
  'packet loss': 'Packets lost since the last check (the kernel counters)',
  'kernel log': "The kernel log ('table full' messages)",
  modules: 'Modules and rules',
  namespaces: 'Namespaces and containers',
  diagnosis: 'Diagnosis',
  output: 'Output',
  state: 'State between runs',
  run: 'Privileges, time and paths',
};

/** `--warning <range>` as docs write it: `--warning RANGE`. */
const docFlags = (flags: string) => flags.replace(/<([a-z-]+)>/g, (_m, name: string) => name.toUpperCase());
const longName = (flags: string) => /--([a-z][a-z0-9-]*)/.exec(flags)![1]!;

export const BEGIN_MARK = '<!-- generated from src/runtime/option-table.ts by npm run generate: do not edit by hand -->';
export const END_MARK = '<!-- end of generated list -->';

/** The option list of docs/options.md, one table per group. */
export function optionsMarkdown(): string {
  const out: string[] = [BEGIN_MARK];
  for (const group of Object.keys(GROUP_TITLES) as OptionGroup[]) {
    const mine = specs.filter((s) => s.group === group);
    if (mine.length === 0) continue;
    out.push('', `### ${GROUP_TITLES[group]}`, '', '| option | default | meaning |', '| --- | --- | --- |');
    for (const s of mine) {
      const shown = s.shown !== undefined ? `\`${s.shown}\`` : s.parse && s.default === undefined ? 'unset' : '';
      out.push(`| \`${docFlags(s.flags)}\` | ${shown} | ${s.help.replace(/\|/g, '\\|')} |`);
    }
  }
  out.push('', END_MARK);
  return out.join('\n');
}

/** docs/options.md with its generated part replaced. */
export function withOptionsMarkdown(page: string): string {
  const start = page.indexOf(BEGIN_MARK);
  const end = page.indexOf(END_MARK);
  if (start < 0 || end < start) throw new Error(`docs/options.md has no "${BEGIN_MARK}" ... "${END_MARK}" block`);
  return page.slice(0, start) + optionsMarkdown() + page.slice(end + END_MARK.length);
}

const sentence = (text: string) => text.charAt(0).toUpperCase() + text.slice(1);
const icingaQuote = (text: string) => text.replace(/\\/g, '\\\\').replace(/"/g, '\\"');

/** The arguments block of the Icinga 2 CheckCommand: a conntrack_* variable for every option. */
export function icingaArguments(): string {
  const out: string[] = ['\targuments = {'];
  for (const s of specs) {
    const name = longName(s.flags);
    const variable = `conntrack_${name.replace(/-/g, '_')}`;
    const description = icingaQuote(`${sentence(s.help)}${s.shown !== undefined ? ` (default: ${s.shown})` : ''}`);
    if (name === 'verbose') {
      // A number for the level: Icinga 2 repeats nothing by itself.
      out.push(
        '\t\t"-v" = {',
        '\t\t\tset_if = {{ Number(macro("$conntrack_verbose$")) == 1 }}',
        `\t\t\tdescription = "Verbosity: conntrack_verbose = 1 gives -v (details), 2 gives -vv (files and commands read), 3 gives -vvv (debug)"`,
        '\t\t}',
        '\t\t"-vv" = {',
        '\t\t\tset_if = {{ Number(macro("$conntrack_verbose$")) == 2 }}',
        '\t\t}',
        '\t\t"-vvv" = {',
        '\t\t\tset_if = {{ Number(macro("$conntrack_verbose$")) >= 3 }}',
        '\t\t}',
      );
      continue;
    }
    out.push(
      `\t\t"--${name}" = {`,
      s.parse ? `\t\t\tvalue = "$${variable}$"` : `\t\t\tset_if = "$${variable}$"`,
      `\t\t\tdescription = "${description}"`,
      '\t\t}',
    );
  }
  out.push('\t}');
  return out.join('\n');
}

/** The CheckCommand file with its arguments block replaced. */
export function withIcingaArguments(conf: string): string {
  const start = conf.indexOf('\targuments = {');
  const end = conf.indexOf('\n\t}\n', start);
  if (start < 0 || end < 0) throw new Error('the CheckCommand has no arguments block');
  return conf.slice(0, start) + icingaArguments() + conf.slice(end + 3);
}

/** How the JSON schema describes one threshold of each kind. */
function schemaOf(s: OptionSpec<string, unknown>): Record<string, unknown> {
  switch (s.json!.kind) {
    case 'range':
      return {
        type: ['string', 'null'],
        description:
          s.parse === countRangeArgument
            ? 'A Nagios range on an increase since the last check (events).'
            : 'A Nagios range; a trailing % means a percentage of nf_conntrack_max.',
      };
    case 'seconds':
      return s.default === undefined ? { type: ['number', 'null'] } : { type: 'number' };
    case 'state':
      return { $ref: '#/$defs/state' };
    case 'flag':
      return { type: 'boolean' };
  }
}

/** The JSON schema with its thresholds made from the table. */
export function withSchemaThresholds(schemaText: string): string {
  const schema = JSON.parse(schemaText) as { properties: { thresholds: { required: string[]; properties: Record<string, unknown> } } };
  const thresholds = specs.filter((s) => s.json);
  schema.properties.thresholds.required = thresholds.map((s) => s.json!.name);
  schema.properties.thresholds.properties = Object.fromEntries(thresholds.map((s) => [s.json!.name, schemaOf(s)]));
  return `${JSON.stringify(schema, null, 2)}\n`;
}
