/**
 * Writes the texts made from the option table (src/runtime/option-table.ts):
 * the list in docs/options.md, the Icinga 2 CheckCommand's arguments and the
 * thresholds of the JSON schema.
 *   npm run generate
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { withIcingaArguments, withOptionsMarkdown, withSchemaThresholds } from '../src/runtime/option-docs';

const REPO = resolve(__dirname, '..');
const targets: Array<[string, (text: string) => string]> = [
  ['docs/options.md', withOptionsMarkdown],
  ['packaging/icinga2/check_conntrack.conf', withIcingaArguments],
  ['schema/check_conntrack.schema.json', withSchemaThresholds],
];
for (const [path, make] of targets) {
  const file = join(REPO, path);
  const before = readFileSync(file, 'utf8');
  const after = make(before);
  if (after !== before) writeFileSync(file, after);
  console.log(`${path}: ${after === before ? 'unchanged' : 'written'}`);
}
