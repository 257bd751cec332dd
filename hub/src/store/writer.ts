/**
 * The store writer: few, large inserts. Evaluate jobs finish concurrently (JG_WORKER_CONCURRENCY)
 * and each used to send its own small insert per table; ClickHouse prefers few large ones (every
 * insert is a part to write and later merge). The writer gathers the rows of concurrent callers
 * into one insert per table (when a group goes out: below), cut earlier when the gathered rows
 * reach a bound (maxRows). The evaluate path, the collectors' chain rows and the audit log use it.
 *
 * Invariants:
 * - Ack only after commit. A caller's promise resolves only when the insert that carried its rows
 *   returned (the store waits for the write, `wait_end_of_query`), so the evaluate job — and with
 *   it the collector's ack — still means "stored".
 * - No row in two inserts. A caller's rows go whole into exactly one group; a group is taken out
 *   of the pending list before it is written, so no later group can carry them again. A caller
 *   larger than maxRows is written alone, never split.
 * - Failure isolation. Coalescing would let one batch the store refuses fail its neighbours too.
 *   When a group of several callers fails, each caller's rows are retried on their own, in the
 *   group's order, and each caller gets the outcome of its own insert: only the bad batch's
 *   callers see the error, so the evaluate processor's refusal handling and ingest's batch
 *   splitting (ingest/collect.ts) still find the one bad record. If the store is down, every
 *   retry fails and every caller sees the outage, as before. Re-inserting rows of a failed insert
 *   is safe: an insert of this size is one block, committed whole or not at all, and both tables
 *   keep one logical row per id (ReplacingMergeTree).
 * - Order per table. Groups of one table are written one after another, in the order they were
 *   cut; groups of different tables do not wait for each other. A batch's warnings follow its
 *   transactions because the processor awaits the transactions before it submits the warnings.
 *
 * Rows travel as JSONEachRow text (`encodeRows`) or its UTF-8 bytes: a group is the concatenation
 * of its callers' texts or bytes, so coalescing costs no re-encoding, and callers that built their
 * rows elsewhere (the evaluation threads) hand over text or bytes only.
 *
 * When a group goes out: group commit, spaced. A caller finding the table idle is written at once;
 * callers arriving while an insert of the table is in flight are written together right after
 * it — but never sooner than `intervalMs` after the previous insert of the table started. Every
 * insert costs the engine a fixed few milliseconds of CPU (a part, its projections, a later merge:
 * measured 6 ms for `transactions` whatever its size up to a few hundred rows), so pure group
 * commit under a steady moderate load — inserts back to back, each carrying a handful of rows —
 * spent most of a core on fixed costs. The spacing caps a table at 1000/intervalMs inserts a
 * second and adds at most intervalMs to a batch's wait; an idle hub still writes at once. A table
 * whose rows are never the last a caller waits for may be spaced more (`tableIntervalMs`).
 * `lingerMs` (default 0) additionally makes the first caller of a group wait for others.
 * `followers` are not spaced: a batch's warnings are submitted only once its transactions
 * committed, so the callers of one transactions group arrive at `warnings` together and make one
 * insert there; spacing `warnings` as well added a second wait of up to `intervalMs` per batch.
 *
 * Busy spacing. While a table's groups are large (the last one carried `busyRows` rows or more:
 * thousands of records a second) it is spaced `busyIntervalMs` instead: fewer, larger parts when
 * CPU is what limits the hub, and a wait that is small beside the queueing at that load. A
 * moderate load (1,000/s makes groups of about 60–100 rows at 60 ms) never reaches it, and a
 * group after a busy spell that is small again brings the table back to `intervalMs`. A table
 * named in `busyAlong` is spaced so while the table it goes along with is busy: the collectors'
 * chain rows (a few per group) went out every 90 ms at saturation, more inserts than
 * `transactions` itself, each a fixed few milliseconds of the engine (docs/benchmarks.md).
 */
import type { SqlQuery } from './sql.js';
import { encodeRows, type InsertText, type Store } from './store.js';

export interface StoreWriterOptions {
  /** How long the first caller of a group waits for others. 0 = write at once. */
  lingerMs: number;
  /** Minimum time between the starts of two inserts into one table. 0 = pure group commit. */
  intervalMs?: number;
  /** `intervalMs` of particular tables (tables not named here use `intervalMs`). */
  tableIntervalMs?: Readonly<Record<string, number>>;
  /** Spacing while the table is busy: its last group carried at least `busyRows` rows. */
  busyIntervalMs?: number;
  /** @defaultValue Infinity (never busy) */
  busyRows?: number;
  /**
   * Tables spaced `busyIntervalMs` while another table is busy: `{ collector_batches:
   * 'transactions' }`. A table whose groups are always small (a chain row per batch) never gets
   * busy by itself, yet under a heavy load its callers also wait for the busy table's insert (the
   * acknowledgement waits for both), so writing it more often than that table only adds inserts.
   */
  busyAlong?: Readonly<Record<string, string>>;
  /**
   * Tables written by pure group commit whatever `intervalMs`: tables whose callers only come
   * after an insert of a spaced table committed (a batch's warnings follow its transactions), so
   * their inserts already follow that table's cadence — spacing them again would only add a
   * second wait to every batch.
   */
  followers?: readonly string[];
  /** A group is cut as soon as its rows reach this many. */
  maxRows: number;
}

export interface StoreWriter {
  /** Resolves once the insert that carried `rows` committed; rejects with that insert's error. */
  insert(table: string, rows: readonly object[]): Promise<void>;
  /**
   * The same for `rows` rows already encoded: JSONEachRow text, or JSONCompactEachRow of
   * `columns` (Store.insertText). Callers of one table with different columns (or none) make
   * separate groups: a group is one insert, hence one format.
   */
  insertText(table: string, text: InsertText, rows: number, columns?: readonly string[]): Promise<void>;
  /** Cuts every pending group now and waits for everything submitted so far. */
  flush(): Promise<void>;
}

export const DEFAULT_WRITER_MAX_ROWS = 20_000;

/**
 * A follower's group waits this long for the rest of its callers: the callers of one committed
 * transactions group reach `warnings` one message apart (from the evaluation threads), not at once.
 */
const FOLLOWER_LINGER_MS = 3;

interface Caller {
  text: InsertText;
  rows: number;
  resolve: () => void;
  reject: (e: unknown) => void;
}

interface TableQueue {
  table: string;
  columns: readonly string[] | undefined;
  pending: Caller[];
  pendingRows: number;
  timer: NodeJS.Timeout | undefined;
  /** The last group written or being written: the next one starts after it settles. */
  tail: Promise<void>;
  /** Groups cut and not yet settled. */
  inFlight: number;
  /** When the current pending group's first caller arrived, and when the last group was cut. */
  firstPendingAt: number;
  lastCutAt: number;
  /** Rows of the last group cut (busy spacing). */
  lastGroupRows: number;
  /**
   * Where the last group of bytes was joined, free again: groups of a queue are written one after
   * another, so the next join can copy into it. Each join into a new multi-megabyte buffer had the
   * kernel map and zero fresh pages under the copy (page faults under `Buffer.concat`: half of the
   * join's samples on the hub thread, docs/benchmarks.md). Handed back only after an insert that
   * succeeded — a failed one might still have a reader (a timed-out request), so its buffer is
   * dropped instead. Its size is a joined group's bytes and a quarter, so maxRows bounds it.
   */
  spare: Buffer | undefined;
}

export function createStoreWriter(store: Pick<Store, 'insertText'>, opts: StoreWriterOptions): StoreWriter {
  const maxRows = Math.max(1, opts.maxRows);
  const tables = new Map<string, TableQueue>();
  const followers = new Set(opts.followers ?? []);
  const busyRows = opts.busyRows ?? Infinity;
  /** Whether a group of `table` (any column set) last carried busyRows rows or more. */
  const isBusy = (table: string): boolean => {
    for (const q of tables.values()) if (q.table === table && q.lastGroupRows >= busyRows) return true;
    return false;
  };

  const queueOf = (table: string, columns: readonly string[] | undefined): TableQueue => {
    const key = columns ? `${table} (${columns.join(',')})` : table;
    let q = tables.get(key);
    if (!q) tables.set(key, (q = { table, columns, pending: [], pendingRows: 0, timer: undefined, tail: Promise.resolve(), inFlight: 0, firstPendingAt: 0, lastCutAt: -Infinity, lastGroupRows: 0, spare: undefined }));
    return q;
  };

  const insert = (q: TableQueue, text: InsertText) => store.insertText(q.table, text, q.columns);

  const write = async (q: TableQueue, group: Caller[]): Promise<void> => {
    const joined = group.length === 1 ? undefined : joinTexts(group, q.spare);
    if (joined?.into) q.spare = undefined;
    try {
      await insert(q, joined ? joined.text : group[0]!.text);
      if (joined?.into) q.spare = joined.into;
      for (const c of group) c.resolve();
      return;
    } catch (e) {
      if (group.length === 1) {
        group[0]!.reject(e);
        return;
      }
    }
    // Isolate the failure: each caller's rows on their own.
    for (const c of group) {
      try {
        await insert(q, c.text);
        c.resolve();
      } catch (e) {
        c.reject(e);
      }
    }
  };

  const cut = (q: TableQueue): void => {
    if (q.timer) clearTimeout(q.timer);
    q.timer = undefined;
    if (q.pending.length === 0) return;
    const group = q.pending;
    q.lastGroupRows = q.pendingRows;
    q.pending = [];
    q.pendingRows = 0;
    q.inFlight += 1;
    q.lastCutAt = Date.now();
    const settled = () => {
      q.inFlight -= 1;
      // Group commit: what arrived while this group was being written goes next.
      if (q.inFlight === 0 && q.pending.length > 0) schedule(q);
    };
    // write() settles every caller itself and never rejects. An idle table starts at once
    // (synchronously), so a lone caller pays no scheduling delay.
    q.tail = q.inFlight === 1 ? write(q, group).then(settled) : q.tail.then(() => write(q, group)).then(settled);
  };

  /** The pending group goes out when the table is idle, its linger is over and the spacing allows. */
  const schedule = (q: TableQueue): void => {
    if (q.timer || q.inFlight > 0 || q.pending.length === 0) return;
    const table = q.table;
    const follower = followers.has(table);
    const linger = follower ? Math.max(opts.lingerMs, FOLLOWER_LINGER_MS) : opts.lingerMs;
    const along = opts.busyAlong?.[table];
    const busy = opts.busyIntervalMs !== undefined && (q.lastGroupRows >= busyRows || (along !== undefined && isBusy(along)));
    const spacing = follower ? 0 : busy ? opts.busyIntervalMs! : (opts.tableIntervalMs?.[table] ?? opts.intervalMs ?? 0);
    const wait = Math.max(q.firstPendingAt + linger, q.lastCutAt + spacing) - Date.now();
    if (wait <= 0) cut(q);
    else q.timer = setTimeout(() => cut(q), wait);
  };

  const insertText = (table: string, text: InsertText, rows: number, columns?: readonly string[]): Promise<void> => {
    if (rows <= 0 || text.length === 0) return Promise.resolve();
    const q = queueOf(table, columns);
    // Never let a group grow past maxRows: cut what is pending first.
    if (q.pendingRows > 0 && q.pendingRows + rows > maxRows) cut(q);
    if (q.pending.length === 0) q.firstPendingAt = Date.now();
    const done = new Promise<void>((resolve, reject) => q.pending.push({ text, rows, resolve, reject }));
    q.pendingRows += rows;
    // A full group goes at once (after the one in flight); otherwise when schedule() says.
    if (q.pendingRows >= maxRows) cut(q);
    else schedule(q);
    return done;
  };

  return {
    insert: (table, rows) => insertText(table, encodeRows(rows), rows.length),
    insertText,
    async flush() {
      for (const q of tables.values()) cut(q);
      await Promise.all([...tables.values()].map((q) => q.tail));
    },
  };
}

/** The store with its inserts going through `writer`; everything else passes straight through. */
export function withWriter(store: Store, writer: StoreWriter): Store {
  return {
    driver: store.driver,
    database: store.database,
    query: <T>(q: SqlQuery) => store.query<T>(q),
    command: (q) => store.command(q),
    insert: (table, rows) => writer.insert(table, rows),
    // Text without a row count: one row per line.
    insertText: (table, text, columns) => writer.insertText(table, text, countLines(text), columns),
    ping: () => store.ping(),
    close: () => store.close(),
  };
}

function countLines(text: InsertText): number {
  let n = 0;
  if (typeof text === 'string') {
    for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) n++;
    return n;
  }
  const b = asBuffer(text);
  for (let i = b.indexOf(10); i !== -1; i = b.indexOf(10, i + 1)) n++;
  return n;
}

/** A view of bytes as a Buffer (a Uint8Array arrives from an evaluation thread's message). */
const asBuffer = (b: Uint8Array): Buffer => (Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength));

/**
 * One group's rows: strings joined, or bytes when any caller's rows are bytes — copied into
 * `spare` when it is large enough, else into a new buffer with a quarter to spare (`into`: the
 * buffer the bytes are a view of, for the queue to use again).
 */
function joinTexts(group: readonly Caller[], spare: Buffer | undefined): { text: InsertText; into?: Buffer } {
  if (group.every((c) => typeof c.text === 'string')) return { text: group.map((c) => c.text).join('') };
  const parts = group.map((c) => (typeof c.text === 'string' ? Buffer.from(c.text, 'utf8') : c.text));
  let total = 0;
  for (const p of parts) total += p.byteLength;
  const into = spare !== undefined && spare.length >= total ? spare : Buffer.allocUnsafeSlow(total + (total >> 2));
  let off = 0;
  for (const p of parts) {
    into.set(p, off);
    off += p.byteLength;
  }
  return { text: into.subarray(0, total), into };
}
