/** IPv4 and CIDR parsing for whitelist checks (pure, no node:net). */

/** 'a.b.c.d' → unsigned 32-bit integer, or undefined when not a dotted-quad IPv4 address. */
export function parseIpv4(s: string): number | undefined {
  // A scan instead of a regular expression (whose match array was garbage on every record of
  // an IP whitelist rule); the same language: four groups of 1–3 ASCII digits, each ≤ 255,
  // surrounding whitespace allowed (trim()).
  const t = s.trim();
  let n = 0;
  let octet = 0;
  let digits = 0;
  let groups = 0;
  for (let i = 0; i <= t.length; i++) {
    const c = i < t.length ? t.charCodeAt(i) : 46; // a final '.' closes the last group
    if (c >= 48 && c <= 57) {
      if (++digits > 3) return undefined;
      octet = octet * 10 + (c - 48);
    } else if (c === 46) {
      if (digits === 0 || octet > 255 || ++groups > 4) return undefined;
      n = n * 256 + octet;
      octet = 0;
      digits = 0;
    } else return undefined;
  }
  return groups === 4 ? n >>> 0 : undefined;
}

/** 'a.b.c.d/n' → { net, mask } (net already masked), or undefined. */
export function parseCidr(s: string): { net: number; mask: number } | undefined {
  const [addr, bits] = s.trim().split('/');
  if (addr === undefined || bits === undefined || !/^\d{1,2}$/.test(bits)) return undefined;
  const ip = parseIpv4(addr);
  const n = Number(bits);
  if (ip === undefined || n > 32) return undefined;
  const mask = n === 0 ? 0 : (0xffffffff << (32 - n)) >>> 0;
  return { net: (ip & mask) >>> 0, mask };
}
