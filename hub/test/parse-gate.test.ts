import { describe, expect, it } from 'vitest';
import { ParseGate } from '../src/ingest/collect.js';

const tick = () => new Promise((r) => setImmediate(r));

describe('ParseGate', () => {
  it('lets `limit` holders in at once; the next waits until one gives its slot back, first come first served', async () => {
    const gate = new ParseGate(2);
    const r1 = await gate.acquire();
    const r2 = await gate.acquire();
    const entered: string[] = [];
    const third = gate.acquire().then((r) => (entered.push('third'), r));
    const fourth = gate.acquire().then((r) => (entered.push('fourth'), r));
    await tick();
    expect(entered).toEqual([]);
    r1();
    await tick();
    expect(entered).toEqual(['third']);
    r2();
    await tick();
    expect(entered).toEqual(['third', 'fourth']);
    (await third)();
    (await fourth)();
    // Every slot is free again: two enter at once.
    const a = await gate.acquire();
    const b = await gate.acquire();
    let c = false;
    void gate.acquire().then(() => (c = true));
    await tick();
    expect(c).toBe(false);
    a();
    b();
  });

  it('gives a slot back once however often its release is called, and has at least one slot', async () => {
    const gate = new ParseGate(0);
    const r = await gate.acquire();
    let next = false;
    const waiting = gate.acquire().then((r2) => ((next = true), r2));
    r();
    r();
    r();
    await tick();
    expect(next).toBe(true);
    // The repeated calls above freed nothing more: a third holder waits for the second.
    let third = false;
    void gate.acquire().then(() => (third = true));
    await tick();
    expect(third).toBe(false);
    (await waiting)();
    await tick();
    expect(third).toBe(true);
  });
});
