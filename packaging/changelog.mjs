#!/usr/bin/env node
// Reads packaging/changelog (Debian format, newest entry first): the one
// changelog both packages carry.
//
//   node packaging/changelog.mjs version      the newest entry's version
//   node packaging/changelog.mjs maintainer   its "Name <email>"
//   node packaging/changelog.mjs epoch        its date, in seconds since the epoch
//   node packaging/changelog.mjs rpm RELEASE  the whole changelog as an RPM %changelog
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const FILE = join(dirname(fileURLToPath(import.meta.url)), 'changelog');
const HEADER = /^([a-z0-9][a-z0-9+.-]+) \(([^()\s]+)\) [^;]+; urgency=\w+$/;
const TRAILER = /^ -- (.+ <[^<>]+>) {2}(\w{3}, \d{1,2} \w{3} \d{4} \d\d:\d\d:\d\d [+-]\d{4})$/;

function fail(message) {
  process.stderr.write(`changelog.mjs: ${FILE}: ${message}\n`);
  process.exit(1);
}

function parse(text) {
  const entries = [];
  let entry;
  text.split('\n').forEach((line, i) => {
    const where = `line ${i + 1}`;
    const header = HEADER.exec(line);
    if (header) {
      if (entry) fail(`${where}: a new entry starts before the last one ended`);
      entry = { version: header[2], lines: [] };
      return;
    }
    const trailer = TRAILER.exec(line);
    if (trailer) {
      if (!entry) fail(`${where}: a trailer line outside an entry`);
      const date = new Date(trailer[2]);
      if (Number.isNaN(date.getTime())) fail(`${where}: '${trailer[2]}' is not a date`);
      entries.push({ ...entry, maintainer: trailer[1], date });
      entry = undefined;
      return;
    }
    if (line.trim() === '') return;
    if (!entry || !line.startsWith('  ')) fail(`${where}: not part of an entry: ${line}`);
    entry.lines.push(line);
  });
  if (entry) fail('the last entry has no trailer line');
  if (entries.length === 0) fail('no entries');
  return entries;
}

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** `* Sun Nov 22 2026 Name <email> - 1.0.0-1` and `- item` lines, as rpmbuild wants them. */
function rpmChangelog(entries, release) {
  return entries
    .map((e) => {
      const d = e.date;
      const day = `${DAYS[d.getUTCDay()]} ${MONTHS[d.getUTCMonth()]} ${String(d.getUTCDate()).padStart(2, '0')} ${d.getUTCFullYear()}`;
      const items = e.lines.map((l) =>
        l
          .replace(/^ {2}\* /, '- ')
          .replace(/^ {4}/, '  ')
          .replace(/%/g, '%%'),
      );
      return [`* ${day} ${e.maintainer} - ${e.version.replace(/-/g, '~')}-${release}`, ...items].join('\n');
    })
    .join('\n\n');
}

const entries = parse(readFileSync(FILE, 'utf8'));
const newest = entries[0];
switch (process.argv[2]) {
  case 'version':
    process.stdout.write(`${newest.version}\n`);
    break;
  case 'maintainer':
    process.stdout.write(`${newest.maintainer}\n`);
    break;
  case 'epoch':
    process.stdout.write(`${Math.floor(newest.date.getTime() / 1000)}\n`);
    break;
  case 'rpm':
    process.stdout.write(`${rpmChangelog(entries, process.argv[3] ?? '1')}\n`);
    break;
  default:
    fail('usage: changelog.mjs version|maintainer|epoch|rpm [RELEASE]');
}
