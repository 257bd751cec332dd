/**
 * The reject report: `<outboxDir>/rejects.jsonl`, one JSON line per source record that could not
 * be turned into a transaction:
 *
 *   {"at":…, "source":"veh-flow", "file":"/data/veh_flow.csv", "line":42, "reason":"CLSBDH: VIN … fails its check digit", "raw":"…"}
 *
 * `raw` is the record text with identity numbers masked (4512**********123X) and cut to 2,000
 * characters: the report stays on the collector but must not become a store of raw personal data.
 * A rejected record never blocks the ones after it. Entries are de-duplicated by (source, file,
 * line, raw), so re-reading after a crash does not report a line twice.
 */
import fsp from 'node:fs/promises';
import path from 'node:path';
import { crc32 } from '../outbox/crc32.js';
import { maskIdentityNumbers } from './records.js';

export const REJECTS_FILE = 'rejects.jsonl';
const MAX_RAW = 2000;
/** Dedup keys remembered (the most recent). */
const MAX_KEYS = 50_000;

export interface RejectEntry {
  at: number;
  /** Source name (config `sources[].name`). */
  source: string;
  /** File path, or 'http' for the local endpoint. */
  file: string;
  /** 1-based line (record index for HTTP); 0 = the whole file. */
  line: number;
  reason: string;
  raw: string;
}

function keyOf(e: Pick<RejectEntry, 'source' | 'file' | 'line' | 'raw'>): string {
  return `${e.source}\u0000${e.file}\u0000${e.line}\u0000${crc32(Buffer.from(e.raw, 'utf8')).toString(16)}`;
}

export function cleanRaw(raw: string): string {
  const masked = maskIdentityNumbers(raw);
  return masked.length > MAX_RAW ? `${masked.slice(0, MAX_RAW)}…` : masked;
}

export class RejectLog {
  readonly file: string;
  private readonly keys = new Set<string>();
  private readonly sync: boolean;
  private chain: Promise<unknown> = Promise.resolve();
  /** Rejected records by source, this run. */
  readonly counts = new Map<string, number>();

  private constructor(file: string, sync: boolean) {
    this.file = file;
    this.sync = sync;
  }

  static async open(dir: string, sync: boolean): Promise<RejectLog> {
    const log = new RejectLog(path.join(dir, REJECTS_FILE), sync);
    let text = '';
    try {
      text = await fsp.readFile(log.file, 'utf8');
    } catch {
      /* none yet */
    }
    const lines = text.split('\n').filter((l) => l.trim());
    for (const l of lines.slice(-MAX_KEYS)) {
      try {
        log.keys.add(keyOf(JSON.parse(l) as RejectEntry));
      } catch {
        /* a damaged report line is not worth failing over */
      }
    }
    return log;
  }

  /** Appends the entries not reported before; returns those that were new. */
  write(entries: readonly Omit<RejectEntry, 'at'>[], at = Date.now()): Promise<RejectEntry[]> {
    const run = this.chain.then(async () => {
      const fresh: RejectEntry[] = [];
      for (const e of entries) {
        const entry: RejectEntry = { at, source: e.source, file: e.file, line: e.line, reason: e.reason, raw: cleanRaw(e.raw) };
        const k = keyOf(entry);
        if (this.keys.has(k)) continue;
        this.keys.add(k);
        fresh.push(entry);
      }
      if (fresh.length === 0) return fresh;
      if (this.keys.size > MAX_KEYS * 2) {
        const keep = [...this.keys].slice(-MAX_KEYS);
        this.keys.clear();
        for (const k of keep) this.keys.add(k);
      }
      const fh = await fsp.open(this.file, 'a');
      try {
        await fh.write(fresh.map((e) => `${JSON.stringify(e)}\n`).join(''));
        if (this.sync) await fh.datasync();
      } finally {
        await fh.close();
      }
      for (const e of fresh) this.counts.set(e.source, (this.counts.get(e.source) ?? 0) + 1);
      return fresh;
    });
    this.chain = run.catch(() => undefined);
    return run;
  }
}

/** Rejected records by source over the whole report file (for `status`, no running collector needed). */
export async function countRejects(dir: string): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  let text: string;
  try {
    text = await fsp.readFile(path.join(dir, REJECTS_FILE), 'utf8');
  } catch {
    return out;
  }
  for (const l of text.split('\n')) {
    if (!l.trim()) continue;
    try {
      const s = (JSON.parse(l) as RejectEntry).source;
      out[s] = (out[s] ?? 0) + 1;
    } catch {
      /* skip */
    }
  }
  return out;
}
