/**
 * # File tail — design note
 *
 * Follows one growing file (JSONL, or CSV with a header row) the way `tail -F` would, and turns its
 * records into transactions through an adapter.
 *
 * ## Position (saved in `<outboxDir>/sources/file-<hash of the path>.json`, cursor-store.ts)
 *
 *   { dev, ino }        identity of the file being read (as decimal strings)
 *   offset, line        byte offset just after the last consumed record, and lines consumed
 *   header              the CSV header (null before it is read)
 *   headLen, headCrc    CRC-32 of the file's first headLen (≤ 1 KiB) bytes: tells "the same file"
 *                       from "truncated and rewritten past our offset" and from a recycled inode
 *   + the adapter state (open 18C tests / checks), saved with the position it belongs to.
 *
 * The position advances only after the records read up to it are durable in the outbox (intent →
 * append → commit, see cursor-store.ts); a restart resumes exactly there: no re-read, no gap.
 *
 * ## Reading
 *
 *   - Only complete records are consumed: bytes after the last newline wait for the rest of the
 *     line (CSV: a newline inside quotes does not end a record).
 *   - Rotation by rename (logrotate `create`): when the path names another file, the old one is
 *     read to its end (after its size has been stable for one poll), a last unterminated record
 *     included, then the new file is read from its start.
 *   - copytruncate: the same file got shorter than our offset (or its first bytes changed) → it is
 *     read again from offset 0 (lines written between copy and truncate are lost by that method).
 *   - Restart after a rotation while stopped: the old file is looked up by inode among the
 *     siblings (x.log.1 …) and finished first; if it is gone, the new file is read from 0 and a
 *     `source.rotated` event says what could not be read.
 *   - A malformed record is rejected (rejects.jsonl with file and line) and reading goes on.
 *   - When the outbox is full the records are held (position unchanged) and retried each poll.
 */
import fsp from 'node:fs/promises';
import path from 'node:path';
import crypto from 'node:crypto';
import { adapterByName } from '../adapters/index.js';
import type { Adapter, AdapterContext } from '../adapters/types.js';
import { crc32 } from '../outbox/crc32.js';
import type { Pseudonymizer } from '../pseudonym.js';
import type { Appender } from './appender.js';
import { CursorStore, type CursorSnapshot } from './cursor-store.js';
import { ingestChunk, mapInputs, newStatus, noteSourceFailure, parseRecords, type IngestDeps } from './ingest.js';
import { splitRecords, type RawRecord } from './records.js';
import type { RejectLog } from './rejects.js';
import type { FileSourceConfig } from './source-config.js';
import type { Source, SourceEvent, SourceStatus } from './types.js';

export interface TailPosition {
  dev: string;
  ino: string;
  offset: number;
  line: number;
  header: string[] | null;
  headLen: number;
  headCrc: number;
}

export interface SourceDeps {
  collectorId: string;
  institutionId: string;
  /** Further institutions the HTTP endpoint accepts records of (config `reportsFor`). */
  reportsFor?: readonly string[];
  outboxDir: string;
  /** fsync cursor files (follows outbox.fsync). */
  sync: boolean;
  pseudonymizer: Pseudonymizer;
  appender: Appender;
  rejects: RejectLog;
  emit: (e: SourceEvent) => void;
  wake: () => void;
  now: () => number;
}

/** Bytes read per step, records mapped per append. */
const READ_BYTES = 1024 * 1024;
const MAX_CHUNK_RECORDS = 1000;
const HEAD_BYTES = 1024;

export function cursorFileFor(outboxDir: string, kind: string, key: string): string {
  const h = crypto.createHash('sha256').update(key).digest('hex').slice(0, 16);
  return path.join(outboxDir, 'sources', `${kind}-${h}.json`);
}

type Stat = { dev: string; ino: string; size: number };

async function statOf(p: string): Promise<Stat | undefined> {
  try {
    const s = await fsp.stat(p, { bigint: true });
    return { dev: String(s.dev), ino: String(s.ino), size: Number(s.size) };
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
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

export class FileTail implements Source {
  readonly type = 'file' as const;
  readonly name: string;
  private readonly cfg: FileSourceConfig;
  private readonly deps: SourceDeps;
  private readonly adapter: Adapter<unknown>;
  private readonly ctx: AdapterContext;
  private readonly file: string;
  private readonly st: SourceStatus;
  private store!: CursorStore<TailPosition | null>;
  private pos: TailPosition | null = null;
  private adapterState: unknown;
  private fh: fsp.FileHandle | undefined;
  /** Path of the file `fh` reads (differs from `file` while finishing a rotated file). */
  private openPath: string | undefined;
  private rotationSize: number | undefined;
  private stopping = false;
  private loop: Promise<void> | undefined;
  private wakeLoop: (() => void) | undefined;
  private sleepTimer: NodeJS.Timeout | undefined;
  private lastSize = 0;
  /** No position was ever saved: `startAt` applies to the first file opened. */
  private firstRun = false;
  /** Records per append; halved while the outbox is full (a big chunk may never fit), regrown after. */
  private chunkLimit = MAX_CHUNK_RECORDS;

  constructor(cfg: FileSourceConfig, deps: SourceDeps) {
    this.cfg = cfg;
    this.deps = deps;
    this.name = cfg.name;
    this.file = path.resolve(cfg.path);
    this.adapter = adapterByName(cfg.adapter);
    this.ctx = { collectorId: deps.collectorId, institutionId: deps.institutionId, pseudonymizer: deps.pseudonymizer, options: cfg.adapterOptions };
    this.st = newStatus(cfg.name, 'file', cfg.adapter);
  }

  private get ingestDeps(): IngestDeps {
    const d = this.deps;
    return { collectorId: d.collectorId, name: this.name, appender: d.appender, rejects: d.rejects, status: this.st, emit: d.emit, wake: d.wake, now: d.now };
  }

  async start(): Promise<void> {
    const opened = await CursorStore.open<TailPosition | null>(cursorFileFor(this.deps.outboxDir, 'file', `${this.file}|${this.cfg.adapter}`), {
      sync: this.deps.sync,
      outboxNextSeq: this.deps.appender.nextSeq,
      initial: { position: null, state: this.adapter.initialState?.() ?? null },
    });
    this.store = opened.store;
    this.pos = opened.committed.position;
    this.firstRun = this.pos === null;
    this.adapterState = opened.committed.state;
    if (opened.resolution !== 'fresh' && opened.resolution !== 'clean') {
      this.deps.emit({ event: 'source.recovered', source: this.name, resolution: opened.resolution, ...(opened.detail ? { detail: opened.detail } : {}) });
    }
    this.deps.emit({ event: 'source.started', source: this.name, type: 'file', detail: `${this.file} (${this.cfg.adapter}${this.pos ? `, from byte ${this.pos.offset}` : ''})` });
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.wakeLoop?.();
    await this.loop;
    await this.fh?.close().catch(() => {});
    this.fh = undefined;
    this.st.state = 'stopped';
  }

  status(): SourceStatus {
    const d: Record<string, unknown> = { file: this.file };
    if (this.openPath && this.openPath !== this.file) d.reading = this.openPath;
    if (this.pos) {
      d.offset = this.pos.offset;
      d.line = this.pos.line;
      d.lagBytes = Math.max(0, this.lastSize - this.pos.offset);
    }
    if (this.adapter.describeState && this.adapterState) Object.assign(d, this.adapter.describeState(this.adapterState));
    return { ...this.st, detail: d };
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      this.wakeLoop = () => {
        if (this.sleepTimer) clearTimeout(this.sleepTimer);
        resolve();
      };
      this.sleepTimer = setTimeout(resolve, ms);
    });
  }

  private async run(): Promise<void> {
    while (!this.stopping) {
      let more = false;
      try {
        more = await this.step();
        if (this.st.state === 'error' || this.st.state === 'starting') this.st.state = 'running';
      } catch (e) {
        this.chunkLimit = noteSourceFailure(e, this.st, this.chunkLimit, this.deps.emit);
        more = false;
      }
      if (!more && !this.stopping) await this.sleep(this.cfg.pollMs);
    }
  }

  /** One step; true when there may be more to read right away. */
  private async step(): Promise<boolean> {
    if (!this.fh) {
      if (!(await this.openFile())) {
        this.st.state = 'waiting';
        return false;
      }
    }
    const fh = this.fh!;
    const pos = this.pos!;
    const size = Number((await fh.stat({ bigint: true })).size);
    this.lastSize = size;
    if (size < pos.offset || !(await this.headMatches(fh, pos))) {
      await this.restartFile(`${this.openPath}: ${size < pos.offset ? `size ${size} < offset ${pos.offset}` : 'first bytes changed'} (copytruncate?); reading it again from the start`, 'truncated');
      return true;
    }
    if (size > pos.offset) {
      const consumed = await this.readChunk(fh, pos, size, false);
      if (consumed) return true;
    }
    return this.checkRotation(fh, size);
  }

  /** Opens the file to read: the saved one if it is still there (under any name), else the path. */
  private async openFile(): Promise<boolean> {
    const cur = await statOf(this.file);
    const p = this.pos;
    if (p && (!cur || cur.dev !== p.dev || cur.ino !== p.ino)) {
      // The saved file is not at the path any more: rotated while we were away?
      const found = await this.findByInode(p);
      if (found) {
        this.fh = await fsp.open(found, 'r');
        this.openPath = found;
        this.deps.emit({ event: 'source.rotated', source: this.name, file: this.file, detail: `finishing ${found} from byte ${p.offset} before ${this.file}` });
        return true;
      }
      if (!cur) return false;
      this.deps.emit({
        event: 'source.rotated',
        source: this.name,
        file: this.file,
        detail: `the file read up to byte ${p.offset} (line ${p.line}) is gone; its remaining lines, if any, could not be read; starting ${this.file} from the beginning`,
      });
      this.pos = null;
    }
    if (!cur) return false;
    this.fh = await fsp.open(this.file, 'r');
    this.openPath = this.file;
    if (!this.pos) {
      const fresh: TailPosition = { dev: cur.dev, ino: cur.ino, offset: 0, line: 0, header: null, headLen: 0, headCrc: 0 };
      if (this.cfg.startAt === 'end' && this.firstRun) await this.skipToEnd(fresh, cur.size);
      this.firstRun = false;
      this.pos = fresh;
      await this.store.commit({ position: this.pos, state: this.adapterState });
    }
    return true;
  }

  /** startAt 'end': consume what is there (header kept, line count exact) without importing it. */
  private async skipToEnd(p: TailPosition, size: number): Promise<void> {
    const csv = this.adapter.format === 'csv';
    let off = 0;
    while (off < size) {
      const buf = await readAt(this.fh!, off, Math.min(READ_BYTES, size - off));
      const s = splitRecords(buf, { offset: off, line: p.line }, { csv, final: false });
      if (s.consumed === 0) break;
      if (csv && p.header === null) p.header = parseRecords(s.records, null, this.parseOptions()).header;
      off += s.consumed;
      p.line += s.lines;
    }
    p.offset = off;
    await this.updateHead(this.fh!, p);
  }

  private async findByInode(p: TailPosition): Promise<string | undefined> {
    const dir = path.dirname(this.file);
    const base = path.basename(this.file);
    let names: string[];
    try {
      names = await fsp.readdir(dir);
    } catch {
      return undefined;
    }
    const stem = base.replace(/\.[^.]*$/, '');
    for (const n of names) {
      if (n === base || !n.startsWith(stem)) continue;
      const s = await statOf(path.join(dir, n)).catch(() => undefined);
      if (s && s.dev === p.dev && s.ino === p.ino && s.size >= p.offset) {
        const full = path.join(dir, n);
        const fh = await fsp.open(full, 'r');
        try {
          if (await this.headMatches(fh, p)) return full;
        } finally {
          await fh.close();
        }
      }
    }
    return undefined;
  }

  private async headMatches(fh: fsp.FileHandle, p: TailPosition): Promise<boolean> {
    if (p.headLen === 0) return true;
    const buf = await readAt(fh, 0, p.headLen);
    return buf.length === p.headLen && crc32(buf) === p.headCrc;
  }

  private async updateHead(fh: fsp.FileHandle, p: TailPosition): Promise<void> {
    const want = Math.min(HEAD_BYTES, p.offset);
    if (p.headLen >= want) return;
    const buf = await readAt(fh, 0, want);
    p.headLen = buf.length;
    p.headCrc = crc32(buf);
  }

  /** Starts the open file (truncated) or a new file (rotated) from offset 0. */
  private async restartFile(detail: string, kind: 'truncated' | 'rotated'): Promise<void> {
    const s = await this.fh!.stat({ bigint: true });
    this.pos = { dev: String(s.dev), ino: String(s.ino), offset: 0, line: 0, header: null, headLen: 0, headCrc: 0 };
    await this.store.commit({ position: this.pos, state: this.adapterState });
    this.deps.emit({ event: kind === 'truncated' ? 'source.truncated' : 'source.rotated', source: this.name, file: this.file, detail });
  }

  private parseOptions() {
    return { csv: this.adapter.format === 'csv', encoding: this.cfg.encoding, delimiter: this.cfg.delimiter, requiredColumns: this.adapter.requiredColumns };
  }

  /**
   * Reads complete records from `pos.offset` (all remaining bytes when `final`), maps and appends
   * up to MAX_CHUNK_RECORDS of them and advances. Returns whether anything was consumed.
   */
  private async readChunk(fh: fsp.FileHandle, pos: TailPosition, size: number, final: boolean): Promise<boolean> {
    const csv = this.adapter.format === 'csv';
    const want = Math.min(size - pos.offset, Math.max(READ_BYTES, this.cfg.maxRecordBytes + 1));
    const buf = await readAt(fh, pos.offset, want);
    const lastPart = final && pos.offset + buf.length >= size;
    let split = splitRecords(buf, { offset: pos.offset, line: pos.line }, { csv, final: lastPart });
    if (split.records.length === 0) {
      if (buf.length > this.cfg.maxRecordBytes) return this.skipOversize(fh, pos, size, final);
      return false;
    }
    let records: RawRecord[] = split.records;
    if (records.length > this.chunkLimit) {
      records = records.slice(0, this.chunkLimit);
      split = { records, consumed: records[records.length - 1]!.end - pos.offset, lines: records.reduce((n, r) => n + r.lines, 0) };
    }
    const tooLong = records.filter((r) => r.bytes.length > this.cfg.maxRecordBytes);
    const parsed = parseRecords(
      records.filter((r) => r.bytes.length <= this.cfg.maxRecordBytes),
      pos.header,
      this.parseOptions(),
    );
    const inputs = [
      ...parsed.inputs,
      ...tooLong.map((r) => ({ line: r.line, raw: r.bytes.subarray(0, 300).toString('utf8'), error: `record of ${r.bytes.length} bytes exceeds maxRecordBytes ${this.cfg.maxRecordBytes}` })),
    ].sort((a, b) => a.line - b.line);
    const chunk = mapInputs(this.adapter, this.ctx, this.adapterState, inputs, { now: this.deps.now() });
    const next: TailPosition = { ...pos, offset: pos.offset + split.consumed, line: pos.line + split.lines, header: parsed.header };
    await this.updateHead(fh, next);
    await ingestChunk(this.ingestDeps, this.store, this.openPath ?? this.file, chunk, { position: next, state: chunk.state } as CursorSnapshot<TailPosition | null>);
    this.pos = next;
    this.adapterState = chunk.state;
    this.chunkLimit = Math.min(MAX_CHUNK_RECORDS, this.chunkLimit * 2);
    if (this.st.state === 'outbox_full') this.st.state = 'running';
    return true;
  }

  /** A record with no newline within maxRecordBytes: reject it and skip past its newline. */
  private async skipOversize(fh: fsp.FileHandle, pos: TailPosition, size: number, final: boolean): Promise<boolean> {
    let off = pos.offset;
    let end = -1;
    while (off < size) {
      const buf = await readAt(fh, off, Math.min(READ_BYTES, size - off));
      const i = buf.indexOf(0x0a);
      if (i !== -1) {
        end = off + i + 1;
        break;
      }
      off += buf.length;
    }
    if (end === -1) {
      if (!final) return false; // still being written
      end = size;
    }
    const head = await readAt(fh, pos.offset, 300);
    const chunk = { items: [], rejects: [{ line: pos.line + 1, reason: `record of ${end - pos.offset} bytes exceeds maxRecordBytes ${this.cfg.maxRecordBytes}`, raw: head.toString('utf8') }], state: this.adapterState };
    const next: TailPosition = { ...pos, offset: end, line: pos.line + 1 };
    await this.updateHead(fh, next);
    await ingestChunk(this.ingestDeps, this.store, this.openPath ?? this.file, chunk, { position: next, state: this.adapterState });
    this.pos = next;
    return true;
  }

  /** At the end of the open file: has the path moved on to another file? */
  private async checkRotation(fh: fsp.FileHandle, size: number): Promise<boolean> {
    const cur = await statOf(this.file);
    const pos = this.pos!;
    const same = cur !== undefined && cur.dev === pos.dev && cur.ino === pos.ino;
    if (same || !cur) {
      this.rotationSize = undefined;
      if (this.st.state !== 'outbox_full') this.st.state = 'running';
      return false;
    }
    // The path names a new file. Let the old one settle for a poll (a writer may not have
    // reopened yet), then take its unterminated last record too and move on.
    if (this.rotationSize !== size) {
      this.rotationSize = size;
      return false;
    }
    if (size > pos.offset) {
      await this.readChunk(fh, pos, size, true);
      return true;
    }
    this.rotationSize = undefined;
    const from = this.openPath;
    await fh.close();
    this.fh = await fsp.open(this.file, 'r');
    this.openPath = this.file;
    await this.restartFile(`${from} ended at byte ${pos.offset} (line ${pos.line}); now reading the new ${this.file}`, 'rotated');
    return true;
  }
}
