/**
 * Helpers for the source tests: a real outbox in a temp dir with the deps a source needs, a way
 * to read back what reached the outbox, generated business lines, and an appender that "dies"
 * at a chosen point of the cursor protocol (the process is gone: nothing after it runs).
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Transaction } from '@jianguan/rules';
import { Outbox } from '../src/outbox/outbox.js';
import { createPseudonymizer } from '../src/pseudonym.js';
import { Appender, type AppendHooks } from '../src/sources/appender.js';
import type { SourceDeps } from '../src/sources/file-tail.js';
import { idCheckDigit } from '../src/sources/identifiers.js';
import { RejectLog, type RejectEntry } from '../src/sources/rejects.js';
import type { SourceEvent } from '../src/sources/types.js';
import { PSEUDONYM_KEY, waitFor } from './helpers.js';

export const pseudonymizer = createPseudonymizer(PSEUDONYM_KEY);

export interface Harness {
  dir: string;
  outbox: Outbox;
  appender: Appender;
  rejects: RejectLog;
  events: SourceEvent[];
  deps: SourceDeps;
  /** Every record in the outbox (nothing is acked in these tests unless a test does it). */
  records(): Promise<Transaction[]>;
  /** Closes the outbox (the "process" ends). */
  close(): Promise<void>;
}

export async function openHarness(dir: string, o: { maxBytes?: number; appender?: (outbox: Outbox) => Appender } = {}): Promise<Harness> {
  const outbox = await Outbox.open(path.join(dir, 'outbox'), { maxBytes: o.maxBytes ?? 64 * 1024 * 1024, segmentBytes: 256 * 1024, fsync: 'always' });
  const appender = o.appender ? o.appender(outbox) : new Appender(outbox);
  const rejects = await RejectLog.open(outbox.dir, true);
  const events: SourceEvent[] = [];
  const deps: SourceDeps = {
    collectorId: 'c-src',
    institutionId: 'JCJ-CGS',
    outboxDir: outbox.dir,
    sync: true,
    pseudonymizer,
    appender,
    rejects,
    emit: (e) => events.push(e),
    wake: () => {},
    now: Date.now,
  };
  return {
    dir,
    outbox,
    appender,
    rejects,
    events,
    deps,
    async records() {
      if (outbox.isClosed) throw new Error('outbox closed');
      const recs = await outbox.peek<Transaction>(outbox.ackedSeq, 1_000_000);
      return recs.map((r) => r.payload);
    },
    close: () => outbox.close(),
  };
}

/** Reads all records of a closed outbox directory (opens, peeks from 0, closes). */
export async function outboxRecords(dir: string): Promise<Transaction[]> {
  const outbox = await Outbox.open(path.join(dir, 'outbox'), { fsync: 'never' });
  try {
    return (await outbox.peek<Transaction>(0, 1_000_000)).map((r) => r.payload);
  } finally {
    await outbox.close();
  }
}

export function readRejects(dir: string): RejectEntry[] {
  const f = path.join(dir, 'outbox', 'rejects.jsonl');
  if (!fs.existsSync(f)) return [];
  return fs
    .readFileSync(f, 'utf8')
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as RejectEntry);
}

/** A valid identity number that varies with n. */
export function idFor(n: number): string {
  const s17 = `451202${1960 + (n % 40)}0${1 + (n % 9)}1${n % 10}${String(n % 1000).padStart(3, '0')}`;
  return s17 + idCheckDigit(s17);
}

/** One native-format JSONL line whose lsh is L<n> (unique per line). */
export function nativeLine(n: number): string {
  return `${JSON.stringify({ kind: 'vehicle', occurredAt: 1795403400000 + n * 1000, lsh: `L${String(n).padStart(7, '0')}`, ywlx: 'B', subject: { idNumber: idFor(n) } })}\n`;
}

export function nativeLines(from: number, to: number): string {
  let s = '';
  for (let n = from; n < to; n++) s += nativeLine(n);
  return s;
}

/** The lsh values of the outbox records, in outbox order. */
export const lshOf = (recs: readonly Transaction[]): string[] => recs.map((r) => r.lsh!);

export const range = (from: number, to: number): string[] => Array.from({ length: to - from }, (_, i) => `L${String(from + i).padStart(7, '0')}`);

export async function waitForRecords(h: Harness, n: number, timeoutMs = 10_000): Promise<Transaction[]> {
  let recs: Transaction[] = [];
  await waitFor(
    async () => {
      recs = await h.records();
      return recs.length >= n;
    },
    timeoutMs,
    `${n} outbox records (have ${recs.length})`,
  );
  return recs;
}

/**
 * An appender whose `crashOn`-th append dies at `point`: after the intent was written and before
 * the outbox append ('prepared'), or after the append and before the cursor commit ('appended').
 * Dying = never resolving; the source is abandoned like a killed process.
 */
export class CrashingAppender extends Appender {
  calls = 0;
  crashed = false;

  constructor(
    outbox: Outbox,
    private readonly point: 'prepared' | 'appended',
    private readonly crashOn: number,
  ) {
    super(outbox);
  }

  override append<T>(items: readonly T[], build: (item: T, seq: number) => unknown, hooks: AppendHooks = {}): Promise<number[]> {
    if (this.crashed) return new Promise<never>(() => {});
    this.calls += 1;
    if (this.calls !== this.crashOn) return super.append(items, build, hooks);
    const dead = (): Promise<never> => {
      this.crashed = true;
      return new Promise<never>(() => {});
    };
    if (this.point === 'prepared') {
      return super.append(items, build, {
        ...hooks,
        prepare: async (first, count) => {
          await hooks.prepare?.(first, count);
          await dead();
        },
      });
    }
    return super.append(items, build, { ...hooks, commit: () => dead() });
  }
}
