/**
 * The entry-table samples of test/fixtures/entries (/proc/net/nf_conntrack, ip_conntrack,
 * conntrack -L), for the tests of the entry-line parser and of the tally.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { FIXTURES } from './fixtures';

const ENTRIES = join(FIXTURES, 'entries');
export const readBytes = (name: string): Buffer => readFileSync(join(ENTRIES, name));
export const readLines = (name: string): string[] =>
  readBytes(name)
    .toString('utf8')
    .split('\n')
    .filter((line) => line !== '');
export const FILES = [
  'proc-6.18.txt',
  'conntrack-L-1.4.7.txt',
  'conntrack-L-extended-1.4.7.txt',
  'proc-old-2.6.32.txt',
  'ip_conntrack-2.6.18.txt',
];
export const TRAILER = 'conntrack v1.4.7 (conntrack-tools): 23 flow entries have been shown.';
