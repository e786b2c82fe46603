function hexValue(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  if (c >= 65 && c <= 70) return c - 55;
  return -1;
}

/**
 * The kernel prints IPv6 addresses as eight groups of four digits (%pI6), conntrack -L
 * as inet_ntop does; this gives the kernel's form the same compact spelling, with glibc's
 * rules (the first longest run of two or more zero groups becomes "::", a mapped IPv4
 * address keeps its dots), so one host reads the same from either source. Any other
 * spelling is returned as it is.
 */
export function compactAddress(address: string): string {
  if (address.length !== 39) return address;
  const words: number[] = [];
  for (let g = 0; g < 8; g += 1) {
    const at = g * 5;
    if (g < 7 && address.charCodeAt(at + 4) !== 58) return address;
    let word = 0;
    for (let k = 0; k < 4; k += 1) {
      const digit = hexValue(address.charCodeAt(at + k));
      if (digit < 0) return address;
      word = word * 16 + digit;
    }
    words.push(word);
  }
  let bestBase = -1;
  let bestLength = 0;
  let runBase = -1;
  for (let i = 0; i < 8; i += 1) {
    if (words[i] !== 0) {
      runBase = -1;
      continue;
    }
    if (runBase < 0) runBase = i;
    if (i - runBase + 1 > bestLength) {
      bestBase = runBase;
      bestLength = i - runBase + 1;
    }
  }
  if (bestLength < 2) bestBase = -1;
  let out = '';
  for (let i = 0; i < 8; i += 1) {
    if (bestBase >= 0 && i >= bestBase && i < bestBase + bestLength) {
      if (i === bestBase) out += ':';
      continue;
    }
    if (i !== 0) out += ':';
    const word = words[i] as number;
    if (i === 6 && bestBase === 0 && (bestLength === 6 || (bestLength === 5 && words[5] === 0xffff))) {
      const low = words[7] as number;
      return `${out}${word >> 8}.${word & 255}.${low >> 8}.${low & 255}`;
    }
    out += word.toString(16);
  }
  if (bestBase >= 0 && bestBase + bestLength === 8) out += ':';
  return out;
}
