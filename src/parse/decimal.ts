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

/** A bounded, printable excerpt of untrusted text for an error message. */
export function preview(text: string, max = 40): string {
  // eslint-disable-next-line no-control-regex
  const printable = text.replace(/[\x00-\x1f\x7f-\x9f|]/g, '?');
  return printable.length > max ? `${printable.slice(0, max)}...` : printable;
}
