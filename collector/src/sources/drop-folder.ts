/**
 * # Drop folder — design note
 *
 * Imports complete files that a business system (or a person) drops into a folder, then moves each
 * to `done/` — or to `rejected/` when the whole file is unreadable (a CSV header without the
 * adapter's columns, not a single parsable record, undecodable bytes throughout).
 *
 *   - Which adapter reads a file: the first `files[]` rule whose glob matches its name. Files
 *     matching no rule, hidden files and *.tmp / *.part / *~ are left alone.
 *   - Complete: a file is taken once its size and mtime have not changed for `settleMs` (writers
 *     should still prefer write-then-rename).
 *   - Ledger (`<outboxDir>/sources/drop-<hash of the folder>.json`, cursor-store.ts): the file being
 *     imported (name, SHA-256 of its content, byte offset, line, CSV header), the SHA-256 of the
 *     last imported files, and the adapters' pairing state. Records are appended chunk by chunk
 *     with the cursor protocol (intent → append → commit), so a crash mid-file resumes at the
 *     first record not yet durable: no duplicates, no gaps. A file whose content was imported
 *     before (same SHA-256) is not imported again; it moves to `done/` as a duplicate.
 *   - Finish: the ledger records the file as done, THEN the file is moved; a crash in between
 *     leaves a file whose hash is already done → moved without importing.
 *   - A malformed record goes to rejects.jsonl with the file name and line; the rest is imported.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { adapterByName } from '../adapters/index.js';
import type { Adapter, AdapterContext, AdapterName } from '../adapters/types.js';
import { CursorStore } from './cursor-store.js';
import { cursorFileFor, type SourceDeps } from './file-tail.js';
import { headerProblem, ingestChunk, mapInputs, newStatus, noteSourceFailure, parseRecords, reportRejects, type IngestDeps, type ParseOptions } from './ingest.js';
import { splitRecords } from './records.js';
import type { DropSourceConfig } from './source-config.js';
import type { Source, SourceStatus } from './types.js';

export interface DropPosition {
  current: { name: string; sha256: string; size: number; offset: number; line: number; header: string[] | null } | null;
  /** SHA-256 of recently imported (or rejected) files, newest last. */
  done: string[];
}

type DropState = Partial<Record<AdapterName, unknown>>;
type Rule = DropSourceConfig['files'][number];

const READ_BYTES = 1024 * 1024;
const MAX_CHUNK_RECORDS = 1000;
const DONE_MEMORY = 2000;

/** '*.csv' → /^[^/]*\.csv$/i ; '?' matches one character. */
export function globToRegExp(glob: string): RegExp {
  const re = glob.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${re}$`, 'i');
}

async function sha256Of(file: string): Promise<string> {
  const h = crypto.createHash('sha256');
  for await (const chunk of fs.createReadStream(file)) h.update(chunk as Buffer);
  return h.digest('hex');
}

async function readAt(fh: fsp.FileHandle, offset: number, length: number): Promise<Buffer> {
  const buf = Buffer.alloc(length);
  let got = 0;
  while (got < length) {
    const { bytesRead } = await fh.read(buf, got, length - got, offset + got);
    if (bytesRead === 0) break;
    got += bytesRead;
  }
  return buf.subarray(0, got);
}

/** Moves `file` into `dir`, adding a suffix when the name is taken. Returns the new path. */
async function moveInto(file: string, dir: string): Promise<string> {
  await fsp.mkdir(dir, { recursive: true });
  const base = path.basename(file);
  let target = path.join(dir, base);
  for (let i = 1; fs.existsSync(target); i++) {
    const ext = path.extname(base);
    target = path.join(dir, `${base.slice(0, base.length - ext.length)}.${i}${ext}`);
  }
  await fsp.rename(file, target);
  return target;
}

export class DropFolder implements Source {
  readonly type = 'drop' as const;
  readonly name: string;
  private readonly cfg: DropSourceConfig;
  private readonly deps: SourceDeps;
  private readonly dir: string;
  private readonly rules: { rule: Rule; re: RegExp; adapter: Adapter<unknown>; ctx: AdapterContext }[];
  private readonly st: SourceStatus;
  private store!: CursorStore<DropPosition>;
  private pos: DropPosition = { current: null, done: [] };
  private state: DropState = {};
  private readonly seen = new Map<string, { size: number; mtimeMs: number; since: number }>();
  private stopping = false;
  private loop: Promise<void> | undefined;
  private wakeLoop: (() => void) | undefined;
  private files = { imported: 0, rejected: 0, duplicates: 0 };
  /** Records per append; halved while the outbox is full (a big chunk may never fit), regrown after. */
  private chunkLimit = MAX_CHUNK_RECORDS;

  constructor(cfg: DropSourceConfig, deps: SourceDeps) {
    this.cfg = cfg;
    this.deps = deps;
    this.name = cfg.name;
    this.dir = path.resolve(cfg.dir);
    this.rules = cfg.files.map((rule) => ({
      rule,
      re: globToRegExp(rule.glob),
      adapter: adapterByName(rule.adapter),
      ctx: { collectorId: deps.collectorId, institutionId: deps.institutionId, pseudonymizer: deps.pseudonymizer, options: rule.adapterOptions },
    }));
    this.st = newStatus(cfg.name, 'drop');
  }

  private get ingestDeps(): IngestDeps {
    const d = this.deps;
    return { collectorId: d.collectorId, name: this.name, appender: d.appender, rejects: d.rejects, status: this.st, emit: d.emit, wake: d.wake, now: d.now };
  }

  async start(): Promise<void> {
    await fsp.mkdir(this.dir, { recursive: true });
    const opened = await CursorStore.open<DropPosition>(cursorFileFor(this.deps.outboxDir, 'drop', this.dir), {
      sync: this.deps.sync,
      outboxNextSeq: this.deps.appender.nextSeq,
      initial: { position: { current: null, done: [] }, state: {} },
    });
    this.store = opened.store;
    this.pos = opened.committed.position;
    this.state = (opened.committed.state ?? {}) as DropState;
    if (opened.resolution !== 'fresh' && opened.resolution !== 'clean') {
      this.deps.emit({ event: 'source.recovered', source: this.name, resolution: opened.resolution, ...(opened.detail ? { detail: opened.detail } : {}) });
    }
    this.deps.emit({
      event: 'source.started',
      source: this.name,
      type: 'drop',
      detail: `${this.dir} (${this.cfg.files.map((f) => `${f.glob}→${f.adapter}`).join(', ')})${this.pos.current ? `, resuming ${this.pos.current.name} at line ${this.pos.current.line}` : ''}`,
    });
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.wakeLoop?.();
    await this.loop;
    this.st.state = 'stopped';
  }

  status(): SourceStatus {
    const detail: Record<string, unknown> = { dir: this.dir, ...this.files };
    if (this.pos.current) detail.current = { name: this.pos.current.name, line: this.pos.current.line, offset: this.pos.current.offset, size: this.pos.current.size };
    for (const r of this.rules) {
      const s = this.state[r.rule.adapter];
      if (r.adapter.describeState && s) Object.assign(detail, r.adapter.describeState(s));
    }
    return { ...this.st, detail };
  }

  private async run(): Promise<void> {
    while (!this.stopping) {
      let more = false;
      try {
        more = await this.scan();
        if (this.st.state !== 'outbox_full') this.st.state = 'running';
      } catch (e) {
        this.chunkLimit = noteSourceFailure(e, this.st, this.chunkLimit, this.deps.emit);
      }
      if (!more && !this.stopping) {
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, this.cfg.pollMs);
          this.wakeLoop = () => {
            clearTimeout(t);
            resolve();
          };
        });
      }
    }
  }

  private ruleFor(name: string) {
    if (name.startsWith('.') || /\.(tmp|part)$/i.test(name) || name.endsWith('~')) return undefined;
    return this.rules.find((r) => r.re.test(name));
  }

  /** Looks at the folder; imports the oldest settled file. True when another may be ready. */
  private async scan(): Promise<boolean> {
    const entries = await fsp.readdir(this.dir, { withFileTypes: true });
    const now = Date.now();
    const candidates: { name: string; mtimeMs: number; size: number }[] = [];
    const present = new Set<string>();
    for (const e of entries) {
      if (!e.isFile() || !this.ruleFor(e.name)) continue;
      present.add(e.name);
      let s: fs.Stats;
      try {
        s = await fsp.stat(path.join(this.dir, e.name));
      } catch {
        continue;
      }
      const prev = this.seen.get(e.name);
      if (!prev || prev.size !== s.size || prev.mtimeMs !== s.mtimeMs) {
        this.seen.set(e.name, { size: s.size, mtimeMs: s.mtimeMs, since: now });
        if (this.cfg.settleMs > 0) continue;
      }
      const since = this.seen.get(e.name)!.since;
      if (now - since >= this.cfg.settleMs) candidates.push({ name: e.name, mtimeMs: s.mtimeMs, size: s.size });
    }
    for (const k of [...this.seen.keys()]) if (!present.has(k)) this.seen.delete(k);
    if (candidates.length === 0) return false;
    // A file being resumed goes first; then the oldest.
    candidates.sort((a, b) => (a.name === this.pos.current?.name ? -1 : b.name === this.pos.current?.name ? 1 : a.mtimeMs - b.mtimeMs || a.name.localeCompare(b.name)));
    const c = candidates[0]!;
    await this.importFile(c.name);
    this.seen.delete(c.name);
    return candidates.length > 1;
  }

  private parseOptions(rule: Rule, adapter: Adapter<unknown>): ParseOptions {
    return { csv: adapter.format === 'csv', encoding: rule.encoding, delimiter: rule.delimiter, requiredColumns: adapter.requiredColumns };
  }

  private async importFile(name: string): Promise<void> {
    const file = path.join(this.dir, name);
    const r = this.ruleFor(name)!;
    const sha256 = await sha256Of(file);
    const size = (await fsp.stat(file)).size;
    if (this.pos.done.includes(sha256)) {
      const movedTo = await moveInto(file, path.join(this.dir, 'done'));
      this.files.duplicates += 1;
      this.deps.emit({ event: 'drop.duplicate', source: this.name, file, sha256, movedTo });
      return;
    }
    let cur: NonNullable<DropPosition['current']>;
    if (this.pos.current && this.pos.current.sha256 === sha256) {
      cur = this.pos.current;
    } else {
      cur = { name, sha256, size, offset: 0, line: 0, header: null };
      const problem = await this.unreadable(file, size, r.rule, r.adapter);
      if (problem) {
        await this.finish(sha256);
        await reportRejects(this.ingestDeps, file, [{ line: 0, reason: `file rejected: ${problem.reason}`, raw: problem.raw }]);
        const movedTo = await moveInto(file, path.join(this.dir, 'rejected'));
        this.files.rejected += 1;
        this.deps.emit({ event: 'drop.rejected_file', source: this.name, file, reason: problem.reason, movedTo });
        return;
      }
    }
    const parse = this.parseOptions(r.rule, r.adapter);
    let records = 0;
    const rejectedBefore = this.st.rejected;
    const fh = await fsp.open(file, 'r');
    try {
      while (cur.offset < size && !this.stopping) {
        const buf = await readAt(fh, cur.offset, Math.min(size - cur.offset, Math.max(READ_BYTES, this.cfg.maxRecordBytes + 1)));
        let split = splitRecords(buf, { offset: cur.offset, line: cur.line }, { csv: parse.csv, final: cur.offset + buf.length >= size });
        if (split.records.length === 0) {
          // One record longer than the buffer: take it whole as too long.
          const nl = buf.indexOf(0x0a);
          const end = nl === -1 ? cur.offset + buf.length : cur.offset + nl + 1;
          split = { records: [{ start: cur.offset, end, line: cur.line + 1, lines: 1, bytes: buf.subarray(0, end - cur.offset) }], consumed: end - cur.offset, lines: 1 };
        }
        let recs = split.records;
        if (recs.length > this.chunkLimit) {
          recs = recs.slice(0, this.chunkLimit);
          split = { records: recs, consumed: recs[recs.length - 1]!.end - cur.offset, lines: recs.reduce((n, x) => n + x.lines, 0) };
        }
        const tooLong = recs.filter((x) => x.bytes.length > this.cfg.maxRecordBytes);
        const parsed = parseRecords(
          recs.filter((x) => x.bytes.length <= this.cfg.maxRecordBytes),
          cur.header,
          parse,
        );
        const inputs = [
          ...parsed.inputs,
          ...tooLong.map((x) => ({ line: x.line, raw: x.bytes.subarray(0, 300).toString('utf8'), error: `record of ${x.bytes.length} bytes exceeds maxRecordBytes ${this.cfg.maxRecordBytes}` })),
        ].sort((a, b) => a.line - b.line);
        const adapterState = this.state[r.rule.adapter] ?? r.adapter.initialState?.() ?? null;
        const chunk = mapInputs(r.adapter, r.ctx, adapterState, inputs, { now: this.deps.now() });
        const nextCur = { ...cur, offset: cur.offset + split.consumed, line: cur.line + split.lines, header: parsed.header };
        const nextState: DropState = { ...this.state, [r.rule.adapter]: chunk.state };
        const seqs = await ingestChunk(this.ingestDeps, this.store, file, chunk, { position: { current: nextCur, done: this.pos.done }, state: nextState });
        records += seqs.length;
        cur = nextCur;
        this.pos = { current: cur, done: this.pos.done };
        this.state = nextState;
        this.chunkLimit = Math.min(MAX_CHUNK_RECORDS, this.chunkLimit * 2);
        if (this.st.state === 'outbox_full') this.st.state = 'running';
      }
    } finally {
      await fh.close();
    }
    if (this.stopping && cur.offset < size) return;
    await this.finish(sha256);
    const movedTo = await moveInto(file, path.join(this.dir, 'done'));
    this.files.imported += 1;
    this.deps.emit({ event: 'drop.imported', source: this.name, file, records, rejected: this.st.rejected - rejectedBefore, movedTo });
  }

  /** Ledger: the file with this hash is finished (imported or rejected). */
  private async finish(sha256: string): Promise<void> {
    const done = [...this.pos.done.filter((h) => h !== sha256), sha256].slice(-DONE_MEMORY);
    this.pos = { current: null, done };
    await this.store.commit({ position: this.pos, state: this.state });
  }

  /**
   * Why the whole file cannot be read with its adapter, or undefined. Reads it once: a CSV
   * header without the adapter's columns, or not one record that parses (JSON / CSV syntax).
   */
  private async unreadable(file: string, size: number, rule: Rule, adapter: Adapter<unknown>): Promise<{ reason: string; raw: string } | undefined> {
    const parse = this.parseOptions(rule, adapter);
    const fh = await fsp.open(file, 'r');
    try {
      let off = 0;
      let line = 0;
      let header: string[] | null = null;
      let errors = 0;
      let firstError: { reason: string; raw: string } | undefined;
      while (off < size) {
        const buf = await readAt(fh, off, Math.min(size - off, READ_BYTES));
        const split = splitRecords(buf, { offset: off, line }, { csv: parse.csv, final: off + buf.length >= size });
        if (split.consumed === 0) break; // a record longer than the buffer: judged while importing
        const p = parseRecords(split.records, header, { ...parse, requiredColumns: undefined });
        if (parse.csv && p.header !== null && header === null) {
          const problem = headerProblem(p.header, adapter.requiredColumns);
          if (problem) return { reason: problem, raw: split.records[0]?.bytes.subarray(0, 300).toString('utf8') ?? '' };
        }
        header = p.header;
        for (const i of p.inputs) {
          if (i.error === undefined) return undefined;
          errors += 1;
          firstError ??= { reason: i.error, raw: i.raw };
        }
        off += split.consumed;
        line += split.lines;
      }
      if (errors > 0) return { reason: `no readable record in ${errors} (first: ${firstError!.reason})`, raw: firstError!.raw };
      return undefined;
    } finally {
      await fh.close();
    }
  }
}
