/**
 * Model-based test of the outbox (after Vector's disk_v2/tests/model): random sequences of
 * append / peek+ack / clean reopen / crash with a torn write / size-bound hits, checked after every
 * step against a plain in-memory model. Properties: nothing acknowledged is delivered again,
 * nothing unacknowledged is lost, order is kept, seqs are never reused.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { isCollectorError } from '../src/errors.js';
import { Outbox, type OutboxOptions } from '../src/outbox/outbox.js';
import { createRng, type Rng } from '../src/sources/rng.js';
import { cleanupTmpDirs, tmpDir } from './helpers.js';

afterEach(() => cleanupTmpDirs());

interface ModelRecord {
  seq: number;
  payload: { k: number; body: string };
}

async function runModel(seed: string, steps: number, opts: OutboxOptions): Promise<{ ops: Record<string, number> }> {
  const rng: Rng = createRng(seed);
  const dir = tmpDir('jg-model-');
  let ob = await Outbox.open(dir, opts);
  const model = { unacked: [] as ModelRecord[], acked: 0, maxSeq: 0 };
  const ops: Record<string, number> = {};
  let k = 0;
  const trace: string[] = [];

  const check = async (): Promise<void> => {
    const got = (await ob.peek(ob.ackedSeq, 1_000_000)).map((r) => ({ seq: r.seq, payload: r.payload }));
    expect(got, `${seed}: ${trace.slice(-6).join(' → ')}`).toEqual(model.unacked);
    expect(ob.ackedSeq).toBe(model.acked);
    expect(ob.depth()).toBe(model.unacked.length);
    expect(ob.nextSeq).toBeGreaterThan(model.maxSeq);
    expect(ob.oldestUnacked()?.seq ?? null).toBe(model.unacked[0]?.seq ?? null);
  };

  for (let step = 0; step < steps; step++) {
    const op = rng.weighted([
      ['append', 40],
      ['deliver', 30],
      ['reopen', 8],
      ['crash_torn', 6],
      ['ack_all', 4],
      ['corrupt', 4],
    ] as const);
    ops[op] = (ops[op] ?? 0) + 1;
    trace.push(op);
    switch (op) {
      case 'append': {
        const n = rng.int(1, 8);
        const items = Array.from({ length: n }, () => ({ k: k++, body: rng.chars('abcdefghij汉字', rng.int(0, 400)) }));
        try {
          const seqs = await ob.append(items);
          expect(seqs[0]).toBeGreaterThan(model.maxSeq);
          for (let i = 1; i < seqs.length; i++) expect(seqs[i]).toBe(seqs[i - 1]! + 1);
          seqs.forEach((seq, i) => model.unacked.push({ seq, payload: items[i]! }));
          model.maxSeq = seqs[seqs.length - 1]!;
        } catch (e) {
          // Full: the caller keeps the records; the model is unchanged.
          expect(isCollectorError(e, 'OUTBOX_FULL')).toBe(true);
          ops.full = (ops.full ?? 0) + 1;
        }
        break;
      }
      case 'deliver': {
        const max = rng.int(1, 20);
        const batch = await ob.peek(ob.ackedSeq, max, rng.int(200, 5000));
        expect(batch.map((r) => r.seq)).toEqual(model.unacked.slice(0, batch.length).map((r) => r.seq));
        if (batch.length > 0 && rng.chance(0.8)) {
          const upTo = rng.int(0, batch.length - 1);
          await ob.ack(batch[upTo]!.seq);
          model.acked = batch[upTo]!.seq;
          model.unacked = model.unacked.filter((r) => r.seq > model.acked);
        }
        break;
      }
      case 'ack_all': {
        if (model.unacked.length > 0) {
          const last = model.unacked[model.unacked.length - 1]!.seq;
          await ob.ack(last);
          model.acked = last;
          model.unacked = [];
        }
        break;
      }
      case 'reopen': {
        await ob.close();
        ob = await Outbox.open(dir, opts);
        break;
      }
      case 'corrupt': {
        // Bit rot in one unacknowledged frame while closed: it is quarantined (or, at the very
        // end, cut as a torn tail); it and only it is lost.
        if (model.unacked.length === 0) break;
        const victim = rng.pick(model.unacked);
        await ob.close();
        for (const f of fs.readdirSync(dir).filter((x) => x.startsWith('seg-'))) {
          const file = path.join(dir, f);
          const buf = fs.readFileSync(file);
          const at = buf.indexOf(`${victim.seq} `) === 0 ? 0 : buf.indexOf(`\n${victim.seq} `) + 1;
          if (at <= 0 && buf.indexOf(`${victim.seq} `) !== 0) continue;
          const end = buf.indexOf('\n', at);
          buf[end - 1] = buf[end - 1]! ^ 0x20; // the closing brace of the payload
          fs.writeFileSync(file, buf);
          break;
        }
        ob = await Outbox.open(dir, opts);
        model.unacked = model.unacked.filter((r) => r !== victim);
        break;
      }
      case 'crash_torn': {
        // A write that never completed: part of a frame at the end of the newest segment.
        await ob.close();
        const segs = fs.readdirSync(dir).filter((f) => f.startsWith('seg-')).sort();
        const last = segs[segs.length - 1];
        if (last) {
          const partial = `${model.maxSeq + 1} 1760000000000 ${rng.int(10, 99)} ${rng.chars('0123456789abcdef', rng.int(0, 8))}`;
          fs.appendFileSync(path.join(dir, last), partial.slice(0, rng.int(1, partial.length)));
        }
        ob = await Outbox.open(dir, opts);
        // The torn frame's seq may have been readable: it is burnt, never reused.
        model.maxSeq = Math.max(model.maxSeq, ob.nextSeq - 1);
        break;
      }
    }
    await check();
  }
  await ob.close();
  return { ops };
}

describe('outbox model', () => {
  const seeds = Array.from({ length: 24 }, (_, i) => `model-${i}`);
  it.each(seeds)('random operations agree with the model (%s)', async (seed) => {
    const { ops } = await runModel(seed, 120, { segmentBytes: 4096, maxBytes: 48 * 1024, fsync: 'never' });
    expect(ops.append).toBeGreaterThan(0);
  });

  it('with fsync always', async () => {
    await runModel('model-fsync', 150, { segmentBytes: 8192, maxBytes: 64 * 1024, fsync: 'always' });
  });

  it('exercises the size bound', async () => {
    const { ops } = await runModel('model-full', 300, { segmentBytes: 4096, maxBytes: 16 * 1024, fsync: 'never' });
    expect(ops.full ?? 0).toBeGreaterThan(0);
    expect(ops.corrupt ?? 0).toBeGreaterThan(0);
    expect(ops.crash_torn ?? 0).toBeGreaterThan(0);
  });
});
