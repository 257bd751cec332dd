/**
 * # Source cursors — design note
 *
 * A source that reads from somewhere (a file, a drop folder) or keeps pairing state (18C, check
 * A/V) records how far it got in one small JSON file under `<outboxDir>/sources/`. The file holds
 * the COMMITTED position (+ adapter state) and, while an append is in flight, a PENDING intent:
 *
 *   {"version":1, "committed":{"position":…, "state":…},
 *    "pending":{"firstSeq":S, "count":N, "next":{"position":…, "state":…}} | null}
 *
 * ## Protocol (all under the collector's append lock, sources/appender.ts)
 *
 *   1. prepare: write the intent — "records S … S+N-1 of the outbox will be the records that take
 *      us from `committed` to `next`" — atomically (temp file, fsync, rename, fsync dir).
 *   2. outbox.append of the N records; it resolves once they are durable (outbox invariant 1).
 *   3. commit: write `committed = next`, `pending = null`.
 *   On an append failure (OUTBOX_FULL, disk error) the intent is withdrawn (`pending = null`)
 *   before the lock is released, so no other append can follow an unresolved intent.
 *
 * ## Recovery (on open, before any source appends)
 *
 *   With the outbox's recovered `nextSeq` (above every seq ever handed out, outbox invariant 2):
 *     nextSeq ≤ S          the append never happened      → keep `committed`
 *     nextSeq ≥ S + N      the append completed           → adopt `next`
 *     S < nextSeq < S + N  a torn append kept a prefix    → keep `committed` (the prefix is
 *                          delivered and read again: at-least-once, never a gap)
 *   So a crash between any two steps neither skips source lines nor (except the torn-write case,
 *   which needs a crash in the middle of a write) duplicates them. The position only ever moves
 *   forward after the outbox said the records are durable.
 */
import fsp from 'node:fs/promises';
import path from 'node:path';
import { errorMessage } from '../errors.js';

export interface CursorSnapshot<P> {
  position: P;
  /** Adapter state (pairing maps), JSON. */
  state: unknown;
}

interface CursorFile<P> {
  version: 1;
  committed: CursorSnapshot<P>;
  pending: { firstSeq: number; count: number; next: CursorSnapshot<P> } | null;
}

export type CursorResolution = 'fresh' | 'clean' | 'adopted' | 'discarded' | 'torn' | 'unreadable';

import { writeFileAtomic } from '../durable.js';

export { writeFileAtomic };

export class CursorStore<P> {
  readonly file: string;
  private readonly sync: boolean;
  private file_: CursorFile<P>;

  private constructor(file: string, sync: boolean, data: CursorFile<P>) {
    this.file = file;
    this.sync = sync;
    this.file_ = data;
  }

  /**
   * Opens (or starts) the cursor in `file` and resolves a pending intent against the outbox's
   * recovered `nextSeq` (see the design note). `initial` is used when there is no file.
   */
  static async open<P>(
    file: string,
    options: { sync: boolean; outboxNextSeq: number; initial: CursorSnapshot<P> },
  ): Promise<{ store: CursorStore<P>; committed: CursorSnapshot<P>; resolution: CursorResolution; detail?: string }> {
    await fsp.mkdir(path.dirname(file), { recursive: true });
    await fsp.unlink(`${file}.tmp`).catch(() => {});
    let text: string | undefined;
    try {
      text = await fsp.readFile(file, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
    const fresh: CursorFile<P> = { version: 1, committed: options.initial, pending: null };
    if (text === undefined) return { store: new CursorStore(file, options.sync, fresh), committed: options.initial, resolution: 'fresh' };
    let data: CursorFile<P>;
    try {
      data = JSON.parse(text) as CursorFile<P>;
      if (data.version !== 1 || typeof data.committed !== 'object' || data.committed === null) throw new Error('unknown layout');
    } catch (e) {
      // Atomic replacement makes this unlikely; keep the bad file for inspection and start over
      // (the source re-reads: duplicates possible, nothing lost).
      await fsp.rename(file, `${file}.bad-${Date.now()}`).catch(() => {});
      return { store: new CursorStore(file, options.sync, fresh), committed: options.initial, resolution: 'unreadable', detail: errorMessage(e) };
    }
    let resolution: CursorResolution = 'clean';
    const p = data.pending;
    if (p) {
      const n = options.outboxNextSeq;
      if (n >= p.firstSeq + p.count) {
        data = { version: 1, committed: p.next, pending: null };
        resolution = 'adopted';
      } else if (n <= p.firstSeq) {
        data = { version: 1, committed: data.committed, pending: null };
        resolution = 'discarded';
      } else {
        data = { version: 1, committed: data.committed, pending: null };
        resolution = 'torn';
      }
      const store = new CursorStore(file, options.sync, data);
      await store.write();
      return { store, committed: data.committed, resolution };
    }
    return { store: new CursorStore(file, options.sync, data), committed: data.committed, resolution };
  }

  get committed(): CursorSnapshot<P> {
    return this.file_.committed;
  }

  /** Step 1: records firstSeq … firstSeq+count-1 will carry us to `next`. */
  async prepare(firstSeq: number, count: number, next: CursorSnapshot<P>): Promise<void> {
    const data: CursorFile<P> = { version: 1, committed: this.file_.committed, pending: { firstSeq, count, next } };
    await this.writeData(data, true);
  }

  /** Step 3 (or a move that appended nothing): `next` is the committed position. */
  async commit(next: CursorSnapshot<P>): Promise<void> {
    // Kept in memory even if the write fails: the records are durable, and the intent still on
    // disk resolves to `next` on recovery.
    await this.writeData({ version: 1, committed: next, pending: null }, false);
  }

  /** Withdraws an intent whose append failed. */
  async abort(): Promise<void> {
    await this.writeData({ version: 1, committed: this.file_.committed, pending: null }, false);
  }

  private async writeData(data: CursorFile<P>, revertOnFailure: boolean): Promise<void> {
    const prev = this.file_;
    this.file_ = data;
    try {
      await this.write();
    } catch (e) {
      if (revertOnFailure) this.file_ = prev;
      throw e;
    }
  }

  private async write(): Promise<void> {
    await writeFileAtomic(this.file, JSON.stringify(this.file_), this.sync);
  }
}
