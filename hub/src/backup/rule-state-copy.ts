/**
 * The rule state (JG_RULE_STATE=local) in a backup: what the stateful rules count — an agent's
 * filings this month, a vehicle's checks, fingerprints seen — lives in the hub's memory and, to
 * survive a restart, in Redis as a snapshot and a log (jobs/local-state.ts). A backup of the store
 * alone, restored onto a machine whose Redis was lost with the disk, would start every window
 * empty: a 30-day window would under-count for 30 days. So the backup copies those Redis keys
 * beside the store, and a restore puts them back before the hub starts.
 *
 * Read. The snapshot generation, its chunks and every log from that generation on, copied from
 * Redis into the file a page at a time, then the generation read again: the hub only appends to
 * a log while it runs, so what was copied is the state at one moment (a prefix of each log),
 * unless a new snapshot was committed meanwhile (the older keys are then deleted) — the copy is
 * then made again. The copy is taken just after the store's tables are frozen: the state may be
 * a few seconds ahead of the store, counting records the restored store lacks — as after any
 * restore, those records are gone and are reported as a gap in each collector's batch numbers.
 *
 * File. `<backup>/rule-state.jsonl`: a header line `{"generation","snapshotChunks","logs":[{"generation","entries"}]}`,
 * then each snapshot chunk and each log entry on a line of its own, in that order (both are JSON
 * text, which holds no raw newline).
 *
 * Write (restore, the hub stopped). Refused while a hub holds the state's lease. The prefix's
 * snapshot and logs are replaced by the backup's; the lease and its epoch are left alone, so the
 * next hub to start takes the lease as after any restart and rebuilds its memory from them.
 */
import fs from 'node:fs';
import readline from 'node:readline';
import type { Redis } from 'ioredis';
import { logGenerations, ruleStateKeys, scanKeys } from '../jobs/local-state.js';

/** Entries per LRANGE / RPUSH. */
const PAGE = 500;
/** Reads tried while snapshots keep being committed under it (each normally takes one). */
const ATTEMPTS = 5;

export interface RuleStateCopy {
  /** The committed snapshot's generation (0 = none). */
  generation: number;
  snapshot: string[];
  logs: { generation: number; entries: string[] }[];
}

/** Size of a copy, as the backup's manifest and the restore's report say it. */
export interface CopySize {
  generation: number;
  snapshotBytes: number;
  logEntries: number;
}

export function copySize(c: RuleStateCopy): CopySize {
  return { generation: c.generation, snapshotBytes: c.snapshot.reduce((s, x) => s + x.length, 0), logEntries: c.logs.reduce((s, l) => s + l.entries.length, 0) };
}

/**
 * Writes the rule state under `prefix`, as it is in Redis, to `file` (the layout above), a page
 * at a time: a year's state is hundreds of megabytes, which the hub does not hold twice. The
 * lists' lengths are read first and exactly that many entries copied (a log appended meanwhile
 * gives its prefix); a snapshot committed meanwhile (the generation moved, or a list came back
 * short because it was deleted) makes it start over. Null (and no file) when there is no state.
 */
export async function copyRuleStateToFile(redis: Redis, prefix: string, file: string): Promise<CopySize | null> {
  const k = ruleStateKeys(prefix);
  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    const generation = Number((await redis.get(k.gen)) ?? '0');
    const snapshotChunks = generation > 0 ? await redis.llen(k.snap(generation)) : 0;
    const gens = await logGenerations(redis, prefix, generation);
    const logs = await Promise.all(gens.map(async (g) => ({ generation: g, entries: await redis.llen(k.log(g)) })));
    if (generation === 0 && logs.every((l) => l.entries === 0)) return null;
    const out = fs.createWriteStream(file, { mode: 0o600 });
    const line = (text: string) => new Promise<void>((resolve, reject) => out.write(`${text}\n`, (e) => (e ? reject(e) : resolve())));
    const size: CopySize = { generation, snapshotBytes: 0, logEntries: 0 };
    let whole = true;
    try {
      await line(JSON.stringify({ generation, snapshotChunks, logs }));
      // Copies `count` entries of `key`; false when the list came back shorter (it was deleted).
      const copy = async (key: string, count: number, page: number, each: (text: string) => void): Promise<boolean> => {
        for (let i = 0; i < count; i += page) {
          const got = await redis.lrange(key, i, Math.min(count, i + page) - 1);
          for (const text of got) each(text);
          // A page in one write: a year's log is millions of entries.
          if (got.length) await line(got.join('\n'));
          if (got.length < Math.min(page, count - i)) return false;
        }
        return true;
      };
      whole = await copy(k.snap(generation), snapshotChunks, 8, (t) => (size.snapshotBytes += t.length));
      for (const l of logs) if (whole) whole = await copy(k.log(l.generation), l.entries, PAGE, () => size.logEntries++);
    } finally {
      await new Promise<void>((resolve) => out.end(resolve));
    }
    if (whole && Number((await redis.get(k.gen)) ?? '0') === generation) return size;
  }
  throw new Error(`the rule state under ${prefix} kept changing its snapshot while it was copied (${ATTEMPTS} tries)`);
}

/** Reads a copy written by copyRuleStateToFile; throws naming what does not fit its header. */
export async function readCopyFile(file: string): Promise<RuleStateCopy> {
  const lines = readline.createInterface({ input: fs.createReadStream(file, 'utf8'), crlfDelay: Infinity });
  let header: { generation: number; snapshotChunks: number; logs: { generation: number; entries: number }[] } | undefined;
  const rest: string[] = [];
  for await (const l of lines) {
    if (header === undefined) header = JSON.parse(l) as typeof header;
    else rest.push(l);
  }
  const want = header ? header.snapshotChunks + header.logs.reduce((s, l) => s + l.entries, 0) : -1;
  if (!header || !Number.isInteger(header.generation) || !Array.isArray(header.logs) || rest.length !== want) {
    throw new Error(`${file} is not a whole rule state copy (${rest.length} lines after the header, ${want} expected)`);
  }
  const copy: RuleStateCopy = { generation: header.generation, snapshot: rest.slice(0, header.snapshotChunks), logs: [] };
  let at = header.snapshotChunks;
  for (const l of header.logs) {
    copy.logs.push({ generation: l.generation, entries: rest.slice(at, at + l.entries) });
    at += l.entries;
  }
  return copy;
}

/**
 * Puts `copy` in place of the rule state under `prefix` (the hub stopped). Throws RULE_STATE_OWNED
 * while a hub holds the state's lease.
 */
export async function restoreRuleState(redis: Redis, prefix: string, copy: RuleStateCopy): Promise<void> {
  const k = ruleStateKeys(prefix);
  const holder = await redis.get(k.owner);
  if (holder) throw new Error(`RULE_STATE_OWNED: a hub (${holder}) holds the rule state under ${prefix}: stop it first`);
  // The generation goes first and comes back last: a restore stopped half-way leaves no
  // generation pointing at a snapshot that is not all there.
  await redis.del(k.gen);
  const old = [...(await scanKeys(redis, k.snaps)), ...(await scanKeys(redis, k.logs))];
  for (let i = 0; i < old.length; i += PAGE) await redis.unlink(...old.slice(i, i + PAGE));
  for (let i = 0; i < copy.snapshot.length; i += 8) await redis.rpush(k.snap(copy.generation), ...copy.snapshot.slice(i, i + 8));
  for (const l of copy.logs) for (let i = 0; i < l.entries.length; i += PAGE) await redis.rpush(k.log(l.generation), ...l.entries.slice(i, i + PAGE));
  if (copy.generation > 0) await redis.set(k.gen, String(copy.generation));
}
