import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { crc32, tableCrc32 } from '../src/outbox/crc32.js';
import { inspectOutbox, Outbox, type OutboxEvent, type QuarantineEntry } from '../src/outbox/outbox.js';
import { cleanupTmpDirs, tmpDir } from './helpers.js';

afterEach(() => cleanupTmpDirs());

const rec = (i: number) => ({ n: i, text: `record ${i} 记录`, pad: 'x'.repeat(i % 7) });

function segmentFiles(dir: string): string[] {
  return fs.readdirSync(dir).filter((f) => f.startsWith('seg-')).sort();
}

function quarantine(dir: string): QuarantineEntry[] {
  const f = path.join(dir, 'quarantine.jsonl');
  if (!fs.existsSync(f)) return [];
  return fs.readFileSync(f, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as QuarantineEntry);
}

async function all(ob: Outbox): Promise<{ seq: number; payload: unknown }[]> {
  return (await ob.peek(ob.ackedSeq, 1_000_000)).map((r) => ({ seq: r.seq, payload: r.payload }));
}

describe('outbox', () => {
  it('appends, peeks in order, acks and survives a restart', async () => {
    const dir = tmpDir();
    let ob = await Outbox.open(dir);
    expect(ob.nextSeq).toBe(1);
    const seqs = await ob.append([1, 2, 3, 4, 5, 6, 7, 8, 9, 10].map(rec));
    expect(seqs).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(ob.depth()).toBe(10);
    const first = await ob.peek(0, 3);
    expect(first.map((r) => r.seq)).toEqual([1, 2, 3]);
    expect(first[0]!.payload).toEqual(rec(1));
    expect(first[0]!.bytes).toBe(Buffer.byteLength(JSON.stringify(rec(1))));
    await ob.ack(4);
    expect(ob.depth()).toBe(6);
    expect(ob.oldestUnacked()?.seq).toBe(5);
    expect((await ob.peek(ob.ackedSeq, 100)).map((r) => r.seq)).toEqual([5, 6, 7, 8, 9, 10]);
    const ackAt = ob.lastAckAt;
    expect(ackAt).not.toBeNull();
    await ob.close();

    ob = await Outbox.open(dir);
    expect(ob.recovery).toMatchObject({ unacked: 6, ackedSeq: 4, nextSeq: 11, truncatedBytes: 0, quarantined: 0 });
    expect(ob.ackedSeq).toBe(4);
    expect(ob.lastAckAt).toBe(ackAt);
    expect(ob.depth()).toBe(6);
    expect((await all(ob)).map((r) => r.seq)).toEqual([5, 6, 7, 8, 9, 10]);
    expect(await ob.append([rec(11)])).toEqual([11]);
    await ob.ack(11);
    expect(ob.depth()).toBe(0);
    expect(ob.oldestUnacked()).toBeNull();
    await ob.close();

    // Everything acked: seqs continue after a restart even though no record is left on disk.
    ob = await Outbox.open(dir);
    expect(ob.nextSeq).toBe(12);
    expect(await ob.append([rec(12)])).toEqual([12]);
    await ob.close();
  });

  it('build() sees the seq each record gets', async () => {
    const dir = tmpDir();
    const ob = await Outbox.open(dir);
    await ob.append(['a', 'b'], (item, seq) => ({ id: `c:${seq}`, item }));
    expect((await all(ob)).map((r) => r.payload)).toEqual([{ id: 'c:1', item: 'a' }, { id: 'c:2', item: 'b' }]);
    await ob.close();
  });

  it('peek respects maxRecords and maxBytes but always returns at least one record', async () => {
    const dir = tmpDir();
    const ob = await Outbox.open(dir);
    await ob.append(Array.from({ length: 20 }, (_, i) => ({ i, blob: 'y'.repeat(1000) })));
    expect((await ob.peek(0, 5)).length).toBe(5);
    const byBytes = await ob.peek(0, 100, 3500);
    expect(byBytes.length).toBe(3);
    expect((await ob.peek(0, 100, 10)).length).toBe(1);
    expect((await ob.peek(18, 100)).map((r) => r.seq)).toEqual([19, 20]);
    expect(await ob.peek(20, 100)).toEqual([]);
    await ob.close();
  });

  it('rolls segments and deletes a segment only when every record in it is acked', async () => {
    const dir = tmpDir();
    const ob = await Outbox.open(dir, { segmentBytes: 4096 });
    for (let i = 0; i < 20; i++) await ob.append(Array.from({ length: 5 }, (_, k) => ({ i, k, blob: 'z'.repeat(150) })));
    const segs = segmentFiles(dir);
    expect(segs.length).toBeGreaterThan(4);
    expect(segs[0]).toBe('seg-00000000000000000001.log');
    // Ack into the middle of the second segment: only the first segment goes.
    const secondFirst = Number(/seg-(\d+)/.exec(segs[1]!)![1]);
    await ob.ack(secondFirst + 1);
    expect(segmentFiles(dir)).toEqual(segs.slice(1));
    expect((await ob.peek(ob.ackedSeq, 1))[0]!.seq).toBe(secondFirst + 2);
    await ob.ack(100);
    // The active segment stays until it is big enough to retire; no closed segment is left.
    expect(segmentFiles(dir).length).toBeLessThanOrEqual(1);
    expect(ob.depth()).toBe(0);
    await ob.close();
  });

  it('recovers from a torn tail: truncates it, keeps the rest, never reuses its seq', async () => {
    const dir = tmpDir();
    let ob = await Outbox.open(dir);
    await ob.append([1, 2, 3, 4, 5].map(rec));
    await ob.close();
    const seg = path.join(dir, segmentFiles(dir)[0]!);
    const size = fs.statSync(seg).size;
    fs.truncateSync(seg, size - 7); // the last frame lost its end (crash mid-write)

    const events: OutboxEvent[] = [];
    ob = await Outbox.open(dir, { onEvent: (e) => events.push(e) });
    expect(ob.recovery.truncatedBytes).toBeGreaterThan(0);
    expect((await all(ob)).map((r) => r.seq)).toEqual([1, 2, 3, 4]);
    expect(ob.nextSeq).toBe(6);
    expect(events[0]).toMatchObject({ type: 'outbox.recovered' });
    const q = quarantine(dir);
    expect(q).toHaveLength(1);
    expect(q[0]).toMatchObject({ reason: 'torn_tail', seq: 5 });
    // Appending continues cleanly after the cut.
    expect(await ob.append([rec(6)])).toEqual([6]);
    expect((await all(ob)).map((r) => r.seq)).toEqual([1, 2, 3, 4, 6]);
    await ob.close();
    ob = await Outbox.open(dir);
    expect(ob.recovery.quarantined).toBe(0);
    expect((await all(ob)).map((r) => r.seq)).toEqual([1, 2, 3, 4, 6]);
    await ob.close();
  });

  it('recovers from garbage appended by an interrupted write', async () => {
    const dir = tmpDir();
    let ob = await Outbox.open(dir);
    await ob.append([1, 2, 3].map(rec));
    await ob.close();
    const seg = path.join(dir, segmentFiles(dir)[0]!);
    const good = fs.statSync(seg).size;
    fs.appendFileSync(seg, Buffer.from('4 1760000000000 9'));
    ob = await Outbox.open(dir);
    expect(fs.statSync(seg).size).toBe(good);
    expect((await all(ob)).map((r) => r.seq)).toEqual([1, 2, 3]);
    expect(ob.nextSeq).toBe(5); // '4' was readable in the torn header: not reused
    await ob.close();
  });

  it('quarantines a frame whose CRC fails in the middle and delivers everything else', async () => {
    const dir = tmpDir();
    let ob = await Outbox.open(dir);
    await ob.append(Array.from({ length: 10 }, (_, i) => rec(i + 1)));
    await ob.close();
    const seg = path.join(dir, segmentFiles(dir)[0]!);
    const buf = fs.readFileSync(seg);
    // Flip one payload byte of record 5 (inside "record 5").
    const lines = buf.toString('utf8').split('\n');
    const off = Buffer.byteLength(lines.slice(0, 4).join('\n') + '\n') + lines[4]!.indexOf('record 5') + 7;
    buf[off] = buf[off]! ^ 0x01;
    fs.writeFileSync(seg, buf);

    ob = await Outbox.open(dir);
    expect(ob.recovery).toMatchObject({ quarantined: 1, truncatedBytes: 0, unacked: 9 });
    expect((await all(ob)).map((r) => r.seq)).toEqual([1, 2, 3, 4, 6, 7, 8, 9, 10]);
    const q = quarantine(dir);
    expect(q).toHaveLength(1);
    expect(q[0]).toMatchObject({ reason: 'crc_mismatch', seq: 5, segment: segmentFiles(dir)[0] });
    expect(Buffer.from(q[0]!.raw, 'base64').toString('utf8')).toContain('"n":5');
    // The collector keeps running: appends and acks work, the damaged frame is skipped.
    expect(await ob.append([rec(11)])).toEqual([11]);
    await ob.close();
    ob = await Outbox.open(dir);
    expect(quarantine(dir)).toHaveLength(1); // not reported twice
    expect((await all(ob)).map((r) => r.seq)).toEqual([1, 2, 3, 4, 6, 7, 8, 9, 10, 11]);
    await ob.ack(11);
    expect(segmentFiles(dir).length).toBeLessThanOrEqual(1);
    await ob.close();
  });

  it('quarantines a frame that goes bad on disk after it was indexed (found by peek)', async () => {
    const dir = tmpDir();
    const events: OutboxEvent[] = [];
    const ob = await Outbox.open(dir, { onEvent: (e) => events.push(e) });
    await ob.append([1, 2, 3].map(rec));
    const seg = path.join(dir, segmentFiles(dir)[0]!);
    const buf = fs.readFileSync(seg);
    const off = buf.indexOf('record 2');
    buf[off] = 'R'.charCodeAt(0);
    fs.writeFileSync(seg, buf);
    expect((await all(ob)).map((r) => r.seq)).toEqual([1, 3]);
    expect(events.some((e) => e.type === 'outbox.quarantined' && e.entry.seq === 2)).toBe(true);
    expect(ob.depth()).toBe(2);
    await ob.close();
  });

  it('rejects an append beyond maxBytes with OUTBOX_FULL and writes nothing', async () => {
    const dir = tmpDir();
    const ob = await Outbox.open(dir, { maxBytes: 20_000, segmentBytes: 8_000 });
    const big = (i: number) => ({ i, blob: 'q'.repeat(900) });
    let appended = 0;
    let error: unknown;
    for (let i = 0; i < 100 && !error; i++) {
      try {
        await ob.append([big(i)]);
        appended++;
      } catch (e) {
        error = e;
      }
    }
    expect(error).toMatchObject({ code: 'OUTBOX_FULL' });
    expect(appended).toBeGreaterThan(10);
    expect(ob.depth()).toBe(appended);
    expect(ob.nextSeq).toBe(appended + 1);
    expect(ob.bytes()).toBeLessThanOrEqual(20_000);
    const onDisk = segmentFiles(dir).reduce((s, f) => s + fs.statSync(path.join(dir, f)).size, 0);
    expect(onDisk).toBe(ob.bytes());
    await expect(ob.append([big(999)])).rejects.toMatchObject({ code: 'OUTBOX_FULL' });
    // Once the hub has acknowledged everything there is room again.
    await ob.ack(appended);
    expect(await ob.append([big(1000)])).toEqual([appended + 1]);
    await ob.close();
  });

  it('refuses acks beyond the last record and ignores acks that go backwards', async () => {
    const dir = tmpDir();
    const ob = await Outbox.open(dir);
    await ob.append([rec(1), rec(2)]);
    await expect(ob.ack(3)).rejects.toMatchObject({ code: 'OUTBOX_BAD_ACK' });
    await ob.ack(2);
    await ob.ack(1);
    expect(ob.ackedSeq).toBe(2);
    await ob.close();
    await expect(ob.append([rec(3)])).rejects.toMatchObject({ code: 'OUTBOX_CLOSED' });
  });

  it('locks the directory against a second owner and takes over a dead owner’s lock', async () => {
    const dir = tmpDir();
    const ob = await Outbox.open(dir);
    await expect(Outbox.open(dir)).rejects.toMatchObject({ code: 'OUTBOX_LOCKED' });
    await ob.close();
    // A lock left by a process that no longer exists.
    fs.writeFileSync(path.join(dir, 'LOCK'), JSON.stringify({ pid: 2 ** 22 + 12345 }));
    const again = await Outbox.open(dir);
    await again.close();
    expect(fs.existsSync(path.join(dir, 'LOCK'))).toBe(false);
  });

  it('treats an unreadable ledger as nothing acked (re-delivers, never loses)', async () => {
    const dir = tmpDir();
    let ob = await Outbox.open(dir);
    await ob.append([1, 2, 3, 4].map(rec));
    await ob.ack(2);
    await ob.close();
    fs.writeFileSync(path.join(dir, 'ack.json'), '{"ackedSeq": 2, "nextS');
    ob = await Outbox.open(dir);
    expect(ob.recovery.ledgerReset).toBe(true);
    expect((await all(ob)).map((r) => r.seq)).toEqual([1, 2, 3, 4]);
    expect(ob.nextSeq).toBe(5);
    await ob.close();
  });

  it('deletes fully acknowledged segments left by a crash between ledger write and delete', async () => {
    const dir = tmpDir();
    let ob = await Outbox.open(dir, { segmentBytes: 4096 });
    for (let i = 0; i < 10; i++) await ob.append(Array.from({ length: 5 }, (_, k) => ({ i, k, blob: 'z'.repeat(150) })));
    const before = segmentFiles(dir);
    await ob.close();
    // The ledger says everything up to 30 is acked, but no segment was deleted yet.
    fs.writeFileSync(path.join(dir, 'ack.json'), JSON.stringify({ version: 1, ackedSeq: 30, nextSeq: 51, ackedAt: 1 }));
    ob = await Outbox.open(dir, { segmentBytes: 4096 });
    expect(ob.recovery.deletedSegments).toBeGreaterThan(0);
    const after = segmentFiles(dir);
    expect(after.length).toBe(before.length - ob.recovery.deletedSegments);
    expect((await all(ob))[0]!.seq).toBe(31);
    expect(ob.depth()).toBe(20);
    await ob.close();
  });

  it('inspectOutbox reports depth, oldest unacked and last ack without touching anything', async () => {
    const dir = tmpDir();
    const ob = await Outbox.open(dir);
    await ob.append([1, 2, 3, 4, 5].map(rec));
    await ob.ack(2);
    const snapshot = fs.readdirSync(dir).map((f) => [f, fs.statSync(path.join(dir, f)).size]);
    const s = await inspectOutbox(dir);
    expect(s).toMatchObject({ exists: true, ackedSeq: 2, depth: 3, nextSeq: 6, quarantined: 0 });
    expect(s.oldestUnacked?.seq).toBe(3);
    expect(s.lastAckAt).toBe(ob.lastAckAt);
    expect(s.lock).toEqual({ pid: process.pid, alive: true });
    expect(fs.readdirSync(dir).map((f) => [f, fs.statSync(path.join(dir, f)).size])).toEqual(snapshot);
    await ob.close();
    expect((await inspectOutbox(path.join(dir, 'missing'))).exists).toBe(false);
  });

  it('crc32 matches the reference value and the table implementation', () => {
    const data = Buffer.from('123456789');
    expect(crc32(data)).toBe(0xcbf43926);
    expect(tableCrc32(data)).toBe(0xcbf43926);
    const big = Buffer.from(Array.from({ length: 5000 }, (_, i) => (i * 31) & 0xff));
    expect(tableCrc32(big.subarray(100), tableCrc32(big.subarray(0, 100)))).toBe(crc32(big));
  });
});
