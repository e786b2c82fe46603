import { preview } from './printable';

/** A sysctl such as nf_conntrack_count: one unsigned decimal and a newline. */
export type DecimalParse = { ok: true; value: number } | { ok: false; reason: string };

export function parseUnsignedDecimal(text: string): DecimalParse {
  const trimmed = text.trim();
  if (!/^\d+$/.test(trimmed)) {
    return { ok: false, reason: trimmed === '' ? 'it is empty' : `'${preview(trimmed)}' is not a whole number` };
  }
  const value = Number(trimmed);
  if (!Number.isSafeInteger(value)) return { ok: false, reason: `${preview(trimmed)} is too large` };
  return { ok: true, value };
}
