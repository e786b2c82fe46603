/** A bounded, printable excerpt of untrusted text for an error message. */
export function preview(text: string, max = 40): string {
  // eslint-disable-next-line no-control-regex -- control characters are what this replaces
  const printable = text.replace(/[\x00-\x1f\x7f-\x9f|]/g, '?');
  return printable.length > max ? `${printable.slice(0, max)}...` : printable;
}
