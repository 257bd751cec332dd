/**
 * The collector's single door into the outbox. Every source (the simulator included) appends
 * through it, one append at a time, so a source's cursor intent (sources/cursor-store.ts) is
 * written, the append done and the intent resolved before any other record can enter the outbox:
 * the "nextSeq tells whether my append happened" recovery rule depends on that.
 */
import { CollectorError, errorMessage } from '../errors.js';
import type { Outbox } from '../outbox/outbox.js';

export interface AppendHooks {
  /** Before the append, with the seq the first record will get. Failing here appends nothing. */
  prepare?(firstSeq: number, count: number): Promise<void>;
  /** After the records are durable. A failure is reported, not thrown: the records ARE appended. */
  commit?(seqs: readonly number[]): Promise<void>;
  /** After a failed append: withdraw the intent. */
  abort?(): Promise<void>;
}

const ABORT_ATTEMPTS = 3;

export class Appender {
  private chain: Promise<unknown> = Promise.resolve();
  private wedged: string | undefined;

  constructor(
    protected readonly outbox: Outbox,
    private readonly onError: (message: string) => void = () => {},
  ) {}

  /** The seq the next appended record will get. */
  get nextSeq(): number {
    return this.outbox.nextSeq;
  }

  /** Runs `fn` while no append can happen. */
  exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.chain.then(fn, fn);
    this.chain = run.catch(() => undefined);
    return run;
  }

  /**
   * Appends `items` (built into records knowing their seq) with the cursor hooks around it.
   * Resolves with the seqs once durable; rejects (OUTBOX_FULL, OUTBOX_IO …) with nothing appended.
   */
  append<T>(items: readonly T[], build: (item: T, seq: number) => unknown, hooks: AppendHooks = {}): Promise<number[]> {
    return this.exclusive(async () => {
      if (this.wedged) throw new CollectorError('OUTBOX_IO', this.wedged);
      if (items.length === 0) return [];
      const first = this.outbox.nextSeq;
      if (hooks.prepare) await hooks.prepare(first, items.length);
      let seqs: number[];
      try {
        seqs = await this.outbox.append(items, build);
      } catch (e) {
        if (hooks.abort) await this.abortOrWedge(hooks.abort, e);
        throw e;
      }
      if (seqs[0] !== first || seqs.length !== items.length) {
        // Cannot happen while every append goes through here; say so loudly if it does.
        this.onError(`outbox assigned seqs ${seqs[0]}… for an intent at ${first}: an append bypassed the appender`);
      }
      if (hooks.commit) {
        try {
          await hooks.commit(seqs);
        } catch (e) {
          this.onError(`source position not saved after seqs ${first}–${first + seqs.length - 1} (recovered on restart): ${errorMessage(e)}`);
        }
      }
      return seqs;
    });
  }

  private async abortOrWedge(abort: () => Promise<void>, cause: unknown): Promise<void> {
    let last: unknown;
    for (let i = 0; i < ABORT_ATTEMPTS; i++) {
      try {
        await abort();
        return;
      } catch (e) {
        last = e;
        await new Promise((r) => setTimeout(r, 50 * (i + 1)));
      }
    }
    // An intent that cannot be withdrawn must not be followed by other appends (recovery would
    // mistake them for this one): refuse every append until a restart resolves it.
    this.wedged = `a source intent could not be withdrawn after '${errorMessage(cause)}' (${errorMessage(last)}); restart the collector`;
    this.onError(this.wedged);
  }
}
