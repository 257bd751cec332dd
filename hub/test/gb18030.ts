/**
 * Text in GB18030, as a detachment's Windows programs write it: Excel's plain "CSV (逗号分隔)" on a
 * Chinese Windows (code page 936, GBK) and the replay files of docs/go-live.md step 5. ASCII stays
 * one byte; every other character is looked up among the two-byte codes through the platform's
 * own decoder (Node has no GB18030 encoder).
 */
import { expect } from 'vitest';

export function gb18030(text: string): Buffer {
  const decoder = new TextDecoder('gb18030');
  const wanted = new Set([...text].filter((c) => c.charCodeAt(0) > 0x7f));
  const codes = new Map<string, number[]>();
  for (let b1 = 0x81; b1 <= 0xfe && codes.size < wanted.size; b1++) {
    for (let b2 = 0x40; b2 <= 0xfe; b2++) {
      if (b2 === 0x7f) continue;
      const c = decoder.decode(Uint8Array.of(b1, b2));
      if (wanted.has(c) && !codes.has(c)) codes.set(c, [b1, b2]);
    }
  }
  const bytes: number[] = [];
  for (const c of text) {
    if (c.charCodeAt(0) <= 0x7f) bytes.push(c.charCodeAt(0));
    else bytes.push(...(codes.get(c) ?? expect.fail(`no two-byte GB18030 code for ${c}`)));
  }
  const out = Buffer.from(bytes);
  expect(new TextDecoder('gb18030', { fatal: true }).decode(out)).toBe(text);
  return out;
}
