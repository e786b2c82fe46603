#!/usr/bin/env node
// The licenses of what the one-file bundle contains: check_conntrack's own
// (packaging/LICENSE) and those of the npm packages esbuild bundles into it
// (the lockfile's runtime packages, as installed in node_modules).
//
//   node packaging/licenses.mjs third-party   plain text, for THIRD-PARTY-LICENSES
//   node packaging/licenses.mjs debian        a Debian machine-readable copyright file
//   node packaging/licenses.mjs spdx          the SPDX expression of them all, for the rpm License: field
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const OWN_COPYRIGHT = 'the check_conntrack developers';
/** Licenses Debian keeps in /usr/share/common-licenses: its policy wants a reference, not the text. */
const COMMON_LICENSES = {
  'Apache-2.0':
    'On Debian systems, the full text of the Apache License, Version 2.0 can be\nfound in /usr/share/common-licenses/Apache-2.0.',
};

function fail(message) {
  process.stderr.write(`licenses.mjs: ${message}\n`);
  process.exit(1);
}

/** Runtime packages from the lockfile (not dev, not dev-optional), sorted by name. */
function runtimePackages() {
  const lock = JSON.parse(readFileSync(join(REPO, 'package-lock.json'), 'utf8'));
  const out = [];
  for (const [path, entry] of Object.entries(lock.packages ?? {})) {
    if (path === '' || entry.dev || entry.devOptional) continue;
    const dir = join(REPO, path);
    const name = path.slice(path.lastIndexOf('node_modules/') + 'node_modules/'.length);
    let files;
    try {
      files = readdirSync(dir);
    } catch {
      fail(`${path} is in package-lock.json but not installed: run 'npm ci'`);
    }
    const licenseFile = files.filter((f) => /^(licen[cs]e|copying)(\.(md|txt))?$/i.test(f)).sort()[0];
    if (!licenseFile) fail(`${path} has no license file`);
    const text = readFileSync(join(dir, licenseFile), 'utf8').replace(/\r\n/g, '\n').trim();
    const license = entry.license ?? JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')).license;
    if (!license) fail(`${path} declares no license`);
    out.push({ path, name, version: entry.version, license, text });
  }
  return out.sort((a, b) => a.path.localeCompare(b.path));
}

function copyrightLines(text, fallback) {
  const lines = text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => /^copyright\b/i.test(l) && /\d{4}|\(c\)|©/i.test(l))
    .map((l) => l.replace(/^copyright\s*(\(c\)|©)?\s*/i, ''));
  return lines.length ? [...new Set(lines)] : [fallback];
}

/** Debian copyright format: continuation lines start with a space, empty lines become " .". */
function indent(text) {
  return text
    .split('\n')
    .map((l) => (l.trim() === '' ? ' .' : ` ${l}`))
    .join('\n');
}

const own = readFileSync(join(REPO, 'packaging/LICENSE'), 'utf8').trim();
const packages = runtimePackages();
const mode = process.argv[2];

if (mode === 'third-party') {
  const parts = [
    'check_conntrack is one JavaScript file bundled by esbuild from its own sources',
    '(MIT, see LICENSE) and from these npm packages, whose licenses follow.',
    '',
    ...packages.map((p) => `  ${p.name} ${p.version} (${p.license})`),
  ];
  for (const p of packages) {
    parts.push('', '='.repeat(78), `${p.name} ${p.version} (${p.license})`, '='.repeat(78), '', p.text);
  }
  process.stdout.write(`${parts.join('\n')}\n`);
} else if (mode === 'debian') {
  const stanzas = [
    [
      'Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/',
      'Upstream-Name: check_conntrack',
      `Upstream-Contact: ${OWN_COPYRIGHT}`,
      'Comment: /usr/lib/nagios/plugins/check_conntrack is one JavaScript file bundled',
      " by esbuild from check_conntrack's sources and from the npm packages listed",
      ' below (node_modules/ in the source tree).',
    ].join('\n'),
    ['Files: *', `Copyright: ${OWN_COPYRIGHT}`, 'License: MIT', indent(own.replace(/^MIT License\n+/, ''))].join('\n'),
  ];
  for (const p of packages) {
    const copyright = copyrightLines(p.text, `the ${p.name} authors`);
    stanzas.push(
      [
        `Files: ${p.path}/*`,
        `Copyright: ${copyright[0]}`,
        ...copyright.slice(1).map((c) => ` ${c}`),
        `License: ${p.license}`,
        indent(COMMON_LICENSES[p.license] ?? p.text),
        `Comment: ${p.name} ${p.version}, bundled into check_conntrack.`,
      ].join('\n'),
    );
  }
  process.stdout.write(`${stanzas.join('\n\n')}\n`);
} else if (mode === 'spdx') {
  // check_conntrack's own first, then the others as they first appear.
  const licenses = [...new Set(['MIT', ...packages.map((p) => p.license)])];
  process.stdout.write(`${licenses.join(' AND ')}\n`);
} else {
  fail('usage: licenses.mjs third-party|debian|spdx');
}
