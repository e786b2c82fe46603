/** Rule dumps from the fixtures, and the two outcomes of parsing one, for the rule parsers' tests. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RuleScan, RuleScanParse } from '../../src/parse/rule-scan';
import { FIXTURES } from './fixtures';

export const sample = (name: string) => readFileSync(join(FIXTURES, 'rules', name), 'utf8');

export function scan(result: RuleScanParse): RuleScan {
  if (!result.ok) throw new Error(`expected a parse, got: ${result.reason}`);
  return result.scan;
}

export function reason(result: RuleScanParse): string {
  if (result.ok) throw new Error(`expected a refusal, got ${JSON.stringify(result.scan)}`);
  return result.reason;
}
