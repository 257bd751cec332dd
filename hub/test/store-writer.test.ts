/** The coalescing store writer (hub/src/store/writer.ts) against the embedded engine (chDB). */
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { loadConfig } from '../src/config.js';
import { migrate } from '../src/store/migrate.js';
import { transactionRow } from '../src/store/repo.js';
import { param, sql } from '../src/store/sql.js';
import { openStore, type Store } from '../src/store/store.js';
import { LineBuffer } from '../src/store/line-buffer.js';
import { createStoreWriter, withWriter } from '../src/store/writer.js';
import { checkTxn, tmpDir } from './helpers.js';

/** Rows in an insert's text or bytes: one per line. */
const linesOf = (text: string | Uint8Array) => (typeof text === 'string' ? text : Buffer.from(text).toString('utf8')).split('\n').length - 1;

let store: Store;
let seq = 0;

beforeAll(async () => {
  store = await openStore(loadConfig({}, { dataDir: tmpDir('store-writer') }));
  await migrate(store);
});
afterAll(async () => {
  await store?.close();
});

/** The store with its inserts counted (rows per insert, in order). */
function counted(): { store: Store; inserts: number[] } {
  const inserts: number[] = [];
  return {
    inserts,
    store: {
      ...store,
      insertText: (table, text) => {
        inserts.push(linesOf(text));
        return store.insertText(table, text);
      },
    },
  };
}

function batch(tag: string, n: number): Record<string, unknown>[] {
  return Array.from({ length: n }, () => {
    const t = checkTxn(++seq);
    return transactionRow({ ...t, id: `${tag}:${seq}` }, { batchId: tag, county: '451202', ruleSet: 'test', warningCount: 0 });
  });
}

async function storedOf(tag: string): Promise<number> {
  const [r] = await store.query<{ n: string }>(sql`SELECT count() AS n FROM transactions WHERE batch_id = ${param.String(tag)}`);
  return Number(r!.n);
}

describe('store writer', () => {
  it('coalesces concurrent callers into fewer inserts, each resolved only once its rows are readable', async () => {
    const c = counted();
    const writer = createStoreWriter(c.store, { lingerMs: 20, maxRows: 20_000 });
    const tags = Array.from({ length: 8 }, (_, i) => `co-${i}`);
    const seen: number[] = [];
    await Promise.all(
      tags.map((tag) =>
        writer.insert('transactions', batch(tag, 50)).then(async () => {
          seen.push(await storedOf(tag));
        }),
      ),
    );
    expect(seen).toEqual(tags.map(() => 50));
    expect(c.inserts).toEqual([400]);
  });

  it('cuts a group at maxRows and never splits a caller', async () => {
    const c = counted();
    const writer = createStoreWriter(c.store, { lingerMs: 1_000, maxRows: 100 });
    const started = Date.now();
    await Promise.all([40, 40, 40, 40, 150].map((n, i) => writer.insert('transactions', batch(`cut-${i}`, n))));
    // 40+40 < 100, the third would pass it: cut before; then 40+40, then 150 alone — all without
    // waiting for the linger except the last, full, one (cut at once as well).
    expect(c.inserts).toEqual([80, 80, 150]);
    expect(Date.now() - started).toBeLessThan(1_000);
  });

  it('a failing coalesced insert fails only the caller with bad rows', async () => {
    const c = counted();
    const writer = createStoreWriter(c.store, { lingerMs: 20, maxRows: 20_000 });
    const bad = batch('iso-bad', 3);
    bad[1] = { ...bad[1], seq: 'not a number' };
    const results = await Promise.allSettled([
      writer.insert('transactions', batch('iso-a', 10)),
      writer.insert('transactions', bad),
      writer.insert('transactions', batch('iso-b', 10)),
    ]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(String((results[1] as PromiseRejectedResult).reason)).toMatch(/insert into transactions/);
    // One coalesced insert that failed, then each caller on its own.
    expect(c.inserts).toEqual([23, 10, 3, 10]);
    expect(await storedOf('iso-a')).toBe(10);
    expect(await storedOf('iso-b')).toBe(10);
    expect(await storedOf('iso-bad')).toBe(0);
  });

  it('linger 0 is group commit: an idle table is written at once, callers arriving during an insert go together right after it', async () => {
    const c = counted();
    const writer = createStoreWriter(c.store, { lingerMs: 0, maxRows: 20_000 });
    const first = writer.insert('transactions', batch('now-a', 5));
    // Submitted synchronously, before any timer could run.
    expect(c.inserts).toEqual([5]);
    // These three arrive while the first insert is in flight: one insert after it.
    const more = [writer.insert('transactions', batch('now-b', 7)), writer.insert('transactions', batch('now-c', 3)), writer.insert('transactions', batch('now-d', 2))];
    expect(c.inserts).toEqual([5]);
    await Promise.all([first, ...more]);
    expect(c.inserts).toEqual([5, 12]);
    for (const [tag, n] of [['now-a', 5], ['now-b', 7], ['now-c', 3], ['now-d', 2]] as const) expect(await storedOf(tag)).toBe(n);
    // Idle again: the next caller is written at once.
    const last = writer.insert('transactions', batch('now-e', 4));
    expect(c.inserts).toEqual([5, 12, 4]);
    await last;
  });

  // Spacing on a fake clock (setTimeout and Date): what is asserted is when the writer starts each
  // insert, which a loaded machine's scheduling cannot blur. Storing is covered above.
  /** A writer over a store that records each insert's start (ms after t0) and rows; the clock faked. */
  function onFakeClock(opts: Parameters<typeof createStoreWriter>[1]) {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    const t0 = Date.now();
    const starts: Record<string, number[]> = {};
    const rows: number[] = [];
    const writer = createStoreWriter(
      {
        insertText: async (table, text) => {
          (starts[table] ??= []).push(Date.now() - t0);
          rows.push(linesOf(text));
        },
      },
      opts,
    );
    const at = (ms: number) => vi.advanceTimersByTimeAsync(ms - (Date.now() - t0));
    return { writer, starts, rows, at };
  }
  afterEach(() => {
    vi.useRealTimers();
  });

  it('with an interval, an idle table is written at once and the next insert of it starts no sooner than the interval after', async () => {
    const { writer, starts, rows, at } = onFakeClock({ lingerMs: 0, intervalMs: 120, maxRows: 20_000 });
    await writer.insert('transactions', batch('gap-a', 3));
    expect(starts.transactions).toEqual([0]);
    // Three callers spread over the interval: one insert, when the interval is over.
    const later = [writer.insert('transactions', batch('gap-b', 2))];
    await at(30);
    later.push(writer.insert('transactions', batch('gap-c', 2)), writer.insert('transactions', batch('gap-d', 2)));
    await at(119);
    expect(starts.transactions).toEqual([0]);
    await at(120);
    await Promise.all(later);
    expect(starts.transactions).toEqual([0, 120]);
    expect(rows).toEqual([3, 6]);
  });

  it('spaces a table named in tableIntervalMs by its own interval, the others by intervalMs', async () => {
    const { writer, starts, at } = onFakeClock({ lingerMs: 0, intervalMs: 40, tableIntervalMs: { collector_batches: 160 }, maxRows: 20_000 });
    await Promise.all([writer.insert('transactions', batch('ti-a', 1)), writer.insert('collector_batches', batch('ti-b', 1))]);
    const second = Promise.all([writer.insert('transactions', batch('ti-c', 1)), writer.insert('collector_batches', batch('ti-d', 1))]);
    await at(39);
    expect(starts).toEqual({ transactions: [0], collector_batches: [0] });
    await at(40);
    expect(starts.transactions).toEqual([0, 40]);
    await at(159);
    expect(starts.collector_batches).toEqual([0]);
    await at(160);
    await second;
    expect(starts).toEqual({ transactions: [0, 40], collector_batches: [0, 160] });
  });

  it('spaces a table by busyIntervalMs after a group of busyRows rows or more, and by intervalMs again after a small one', async () => {
    const { writer, starts, rows } = onFakeClock({ lingerMs: 0, intervalMs: 30, busyIntervalMs: 200, busyRows: 10, maxRows: 20_000 });
    const settle = async (p: Promise<void>) => {
      await vi.runAllTimersAsync();
      await p;
    };
    await settle(writer.insert('transactions', batch('busy-a', 2))); // small: the next one 30 ms later
    await settle(writer.insert('transactions', batch('busy-b', 12))); // large: the next one 200 ms later
    await settle(writer.insert('transactions', batch('busy-c', 1))); // small again
    await settle(writer.insert('transactions', batch('busy-d', 1)));
    expect(starts.transactions).toEqual([0, 30, 230, 260]);
    expect(rows).toEqual([2, 12, 1, 1]);
  });

  it('spaces a busyAlong table by busyIntervalMs while the table it goes along with is busy, by its own interval otherwise', async () => {
    const { writer, starts } = onFakeClock({
      lingerMs: 0,
      intervalMs: 30,
      tableIntervalMs: { collector_batches: 45 },
      busyIntervalMs: 200,
      busyRows: 10,
      busyAlong: { collector_batches: 'transactions' },
      maxRows: 20_000,
    });
    const settle = async (p: Promise<unknown>) => {
      await vi.runAllTimersAsync();
      await p;
    };
    // Chain rows are one per batch: never busy by themselves.
    await settle(writer.insert('collector_batches', batch('along-a', 1)));
    await settle(writer.insert('collector_batches', batch('along-b', 1)));
    expect(starts.collector_batches).toEqual([0, 45]);
    // transactions turns busy (a group of 12 rows, busyRows 10): the chain table follows its spacing.
    await settle(writer.insert('transactions', batch('along-t1', 12)));
    await settle(writer.insert('collector_batches', batch('along-c', 1)));
    expect(starts.collector_batches).toEqual([0, 45, 245]);
    // transactions quiet again (a small group): back to the table's own 45 ms.
    await settle(writer.insert('transactions', batch('along-t2', 1)));
    const t = starts.collector_batches!.at(-1)!;
    await settle(writer.insert('collector_batches', batch('along-d', 1)));
    expect(starts.collector_batches!.at(-1)! - t).toBe(45);
    // A table not named in busyAlong keeps its own spacing whatever transactions does.
    await settle(writer.insert('transactions', batch('along-t3', 12)));
    const w0 = Date.now();
    await settle(writer.insert('audit_log', batch('along-e', 1)));
    await settle(writer.insert('audit_log', batch('along-f', 1)));
    expect(starts.audit_log!.length).toBe(2);
    expect(starts.audit_log![1]! - starts.audit_log![0]!).toBe(30);
    expect(Date.now() - w0).toBeLessThan(200);
  });

  it('keeps rows of one table in different encodings apart: one insert per encoding', async () => {
    const calls: { columns?: readonly string[] | undefined; rows: number }[] = [];
    const w = createStoreWriter(
      { insertText: (table, text, columns) => (calls.push({ columns, rows: linesOf(text) }), store.insertText(table, text, columns)) },
      { lingerMs: 20, maxRows: 20_000 },
    );
    const asObjects = batch('enc-a', 3);
    const asValues = batch('enc-b', 2);
    const columns = Object.keys(asValues[0]!);
    const compact = asValues.map((r) => `${JSON.stringify(columns.map((c) => r[c]))}\n`).join('');
    await Promise.all([w.insert('transactions', asObjects), w.insertText('transactions', compact, 2, columns), w.insert('transactions', batch('enc-c', 1))]);
    expect(calls.map((c) => [c.columns ? 'compact' : 'objects', c.rows]).sort()).toEqual([
      ['compact', 2],
      ['objects', 4],
    ]);
    for (const [tag, n] of [['enc-a', 3], ['enc-b', 2], ['enc-c', 1]] as const) expect(await storedOf(tag)).toBe(n);
  });

  it('keeps the order of groups per table', async () => {
    const order: string[] = [];
    const writer = createStoreWriter(
      {
        insertText: async (table, text) => {
          const rows = linesOf(text);
          order.push(`${table}:${rows}:start`);
          await new Promise((r) => setTimeout(r, rows));
          order.push(`${table}:${rows}:end`);
        },
      },
      { lingerMs: 5, maxRows: 30 },
    );
    await Promise.all([writer.insert('t', new Array(30).fill({})), writer.insert('t', new Array(2).fill({}))]);
    expect(order).toEqual(['t:30:start', 't:30:end', 't:2:start', 't:2:end']);
  });
});

describe('rows as bytes', () => {
  it('LineBuffer writes each line as UTF-8 and a newline, growing as needed', () => {
    const lines = ['{"a":1}', '["桂M12345","换证"]', 'x'.repeat(5000), '"😀"'];
    const b = new LineBuffer(16);
    for (const l of lines) b.line(l);
    expect(b.lines).toBe(4);
    expect(b.bytes().equals(Buffer.from(lines.map((l) => `${l}\n`).join(''), 'utf8'))).toBe(true);
  });

  it('a group of texts and bytes (Buffers, or plain Uint8Arrays from a thread) is one insert of their bytes in order; rows are counted in bytes too', async () => {
    const seen: (string | Uint8Array)[] = [];
    const fake = { insertText: async (_t: string, text: string | Uint8Array) => void seen.push(text) };
    const w = createStoreWriter(fake, { lingerMs: 20, maxRows: 100 });
    const plain = new Uint8Array(Buffer.from('["桂"]\n'));
    await Promise.all([w.insertText('t', 'a\n', 1), w.insertText('t', Buffer.from('b\nc\n'), 2), w.insertText('t', plain, 1)]);
    expect(seen).toHaveLength(1);
    expect(Buffer.from(seen[0] as Uint8Array).toString('utf8')).toBe('a\nb\nc\n["桂"]\n');
    // All text: joined as text, as before.
    seen.length = 0;
    await Promise.all([w.insertText('t', 'a\n', 1), w.insertText('t', 'b\n', 1)]);
    expect(seen).toEqual(['a\nb\n']);
    // withWriter counts the rows of bytes by their newlines: maxRows 2 cuts three one-row callers in two.
    const inserts: number[] = [];
    const store = withWriter(
      { ...fake, driver: 'chdb', database: 'x', query: async () => [], command: async () => undefined, insert: async () => undefined, ping: async () => true, close: async () => undefined },
      createStoreWriter({ insertText: async (_t, text) => void inserts.push(linesOf(text)) }, { lingerMs: 20, maxRows: 2 }),
    );
    await Promise.all([store.insertText('t', Buffer.from('1\n')), store.insertText('t', new Uint8Array(Buffer.from('2\n'))), store.insertText('t', Buffer.from('3\n'))]);
    expect(inserts).toEqual([2, 1]);
  });

  it('joins the bytes of later groups where the last one was joined, only after that insert succeeded', async () => {
    // Each insert records what it was given (the view itself) and a copy of its bytes at that
    // moment; the third insert fails and its view is read again after the fourth was written, as
    // a request that outlives its failure would.
    const given: Buffer[] = [];
    const atCall: string[] = [];
    let fail = false;
    const fake = {
      insertText: async (_t: string, text: string | Uint8Array) => {
        given.push(text as Buffer);
        atCall.push(Buffer.from(text as Uint8Array).toString('utf8'));
        if (fail) throw new Error('refused');
      },
    };
    const w = createStoreWriter(fake, { lingerMs: 5, maxRows: 1_000 });
    const group = (tag: string, n: number) => Promise.allSettled(Array.from({ length: n }, (_, i) => w.insertText('t', Buffer.from(`${tag}${i}\n`), 1)));
    await group('a', 3);
    await group('b', 2); // smaller: fits where the first was joined
    expect(atCall.slice(0, 2)).toEqual(['a0\na1\na2\n', 'b0\nb1\n']);
    expect(given[1]!.buffer).toBe(given[0]!.buffer);
    // A larger group gets a larger buffer; the callers' own bytes are never written to.
    await group('cc', 40);
    expect(atCall[2]).toBe(Array.from({ length: 40 }, (_, i) => `cc${i}\n`).join(''));
    expect(given[2]!.buffer).not.toBe(given[0]!.buffer);
    // A failed group: each caller is retried alone, and its joined buffer is not used again.
    fail = true;
    const failed = await group('d', 2);
    expect(failed.every((r) => r.status === 'rejected')).toBe(true);
    const failedView = given[3]!;
    expect(atCall[3]).toBe('d0\nd1\n');
    fail = false;
    await group('e', 2);
    const last = given.length - 1;
    expect(atCall[last]).toBe('e0\ne1\n');
    expect(given[last]!.buffer).not.toBe(failedView.buffer);
    expect(failedView.toString('utf8')).toBe('d0\nd1\n');
  });
});

describe('store writer followers', () => {
  it('does not space a follower table: a batch waits once, at the spaced table, and its callers go together', async () => {
    const starts: { table: string; rows: number; at: number }[] = [];
    const writer = createStoreWriter(
      {
        insertText: async (table, text) => {
          starts.push({ table, rows: linesOf(text), at: Date.now() });
          await new Promise((r) => setTimeout(r, 2));
        },
      },
      { lingerMs: 0, intervalMs: 2000, maxRows: 1000, followers: ['warnings'] },
    );
    const t0 = Date.now();
    await writer.insert('transactions', [{}]);
    // The callers of one committed group reach the follower a little apart: one insert.
    await Promise.all([writer.insert('warnings', [{}]), new Promise((r) => setTimeout(r, 1)).then(() => writer.insert('warnings', [{}, {}]))]);
    await new Promise((r) => setTimeout(r, 20));
    await writer.insert('warnings', [{}]);
    const ws = starts.filter((s) => s.table === 'warnings');
    expect(ws.map((s) => s.rows)).toEqual([3, 1]);
    // Neither waited for the 2 s spacing that a second transactions insert does.
    expect(ws[1]!.at - ws[0]!.at).toBeLessThan(1500);
    expect(Date.now() - t0).toBeLessThan(1500);
    const spaced = writer.insert('transactions', [{}]);
    await spaced;
    const ts = starts.filter((s) => s.table === 'transactions');
    expect(ts[1]!.at - ts[0]!.at).toBeGreaterThanOrEqual(1998);
  });
});

describe('audit writer', () => {
  const auditEntry = (actor: string) => ({
    at: Date.now(), actor, actorRoles: [], actorScope: '', action: 'decision.request', method: 'WS', path: '/collect decision.request', ip: '127.0.0.1',
    result: 'ok' as const, status: 200, targetType: 'transaction', targetId: actor, detail: '{}',
  });
  const countOf = async (prefix: string) =>
    Number((await store.query<{ n: string }>(sql`SELECT count() AS n FROM audit_log WHERE startsWith(actor, ${param.String(prefix)})`))[0]!.n);

  it('writes unawaited rows in few inserts, never delays awaited ones, and flush() writes what is pending', async () => {
    const { AuditWriter } = await import('../src/auth/audit.js');
    const c = counted();
    const audit = new AuditWriter(c.store);
    // The first unawaited row finds the table idle and goes at once; the next ones wait for the spacing.
    await audit.writeLater(auditEntry('later-0'));
    const pending = Array.from({ length: 20 }, (_, i) => audit.writeLater(auditEntry(`later-${i + 1}`)));
    // An awaited row does not queue behind them: it is stored in its own insert, before them.
    await audit.write(auditEntry('now-1'));
    expect(await countOf('now-')).toBe(1);
    await audit.flush();
    await Promise.all(pending);
    expect(await countOf('later-')).toBe(21);
    // Three inserts in all: the idle one, the awaited one, the twenty pending ones together.
    expect(c.inserts).toEqual([1, 1, 20]);
  });
});
