/** IPv4 and CIDR parsing for whitelist checks (pure, no node:net). */

/** 'a.b.c.d' → unsigned 32-bit integer, or undefined when not a dotted-quad IPv4 address. */
export function parseIpv4(s: string): number | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(s.trim());
  if (!m) return undefined;
  let n = 0;
  for (let i = 1; i <= 4; i++) {
    const o = Number(m[i]);
    if (o > 255) return undefined;
    n = n * 256 + o;
  }
  return n >>> 0;
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
