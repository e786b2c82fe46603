import { plainNumber } from './number';

export type Uom = '' | '%' | 's' | 'ms' | 'us' | 'B' | 'KB' | 'MB' | 'TB' | 'c';

export interface Perfdata {
  label: string;
  /** A value that cannot be measured is left out with its label: Icinga 2 rejects U. */
  value: number;
  uom?: Uom;
  /** Already in Nagios range syntax (see formatRange). */
  warning?: string;
  critical?: string;
  min?: number;
  max?: number;
}

const BARE_LABEL = /^[A-Za-z0-9_.-]+$/;

function label(text: string): string {
  // '=' and "'" cannot be escaped in perfdata labels; '|' would end the perfdata.
  const clean = text.replace(/['=|]/g, '_');
  return BARE_LABEL.test(clean) ? clean : `'${clean}'`;
}

export function formatPerfdata(p: Perfdata): string {
  const fields = [
    plainNumber(p.value) + (p.uom ?? ''),
    p.warning ?? '',
    p.critical ?? '',
    p.min === undefined ? '' : plainNumber(p.min),
    p.max === undefined ? '' : plainNumber(p.max),
  ];
  while (fields.length > 1 && fields[fields.length - 1] === '') fields.pop();
  return `${label(p.label)}=${fields.join(';')}`;
}
