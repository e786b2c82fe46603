/**
 * Numbers as monitoring cores read them: plain decimal, `.` as separator, no
 * exponent (String(1e21) is '1e+21'), no locale grouping, no '-0'.
 */
export function plainNumber(n: number, maxDecimals = 6): string {
  if (!Number.isFinite(n)) throw new RangeError(`cannot write ${n} as a plain number`);
  if (Math.abs(n) >= 1e21) return BigInt(Math.round(n)).toString();
  let text = n.toFixed(maxDecimals);
  if (text.includes('.')) text = text.replace(/0+$/, '').replace(/\.$/, '');
  return text === '-0' ? '0' : text;
}

/** `value` rounded down to one decimal, for percentages shown to a person. */
export function percentText(part: number, whole: number): string {
  const tenths = Math.floor((part * 1000) / whole);
  return (tenths / 10).toFixed(1);
}
