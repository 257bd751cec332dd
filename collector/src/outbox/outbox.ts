/**
 * # The disk outbox — design note
 *
 * Every record the collector captures is written here before anything else happens to it, and
 * stays here until the hub acknowledges that it is durable on the hub side. Modelled on Vector's
 * disk_v2 buffer (lib/vector-buffers/src/variants/disk_v2): append-only segment files, an
 * acknowledgement ledger, deletion driven only by acknowledgements, and a recovery pass on open.
 *
 * ## Files (all in one directory)
 *
 *   seg-<firstSeq, 20 digits>.log  append-only segment; a new one starts when the current one
 *                                  would exceed `segmentBytes` (a single append batch is never split)
 *   ack.json                       the ack ledger: {"version":1,"ackedSeq":N,"nextSeq":M,"ackedAt":T}
 *                                  replaced atomically (write ack.json.tmp, fsync, rename, fsync dir)
 *   quarantine.jsonl               one JSON line per damaged frame found (reason, place, raw bytes)
 *   LOCK                           {"pid":…} of the process that has the outbox open
 *
 * ## Record frame (format v1): one line per record
 *
 *   <seq> <at> <len> <crc> <payload>\n
 *
 *   seq      decimal sequence number, strictly increasing over the whole outbox, starting at 1
 *   at       decimal epoch ms when the record was appended (drives `oldestUnacked`)
 *   len      decimal byte length of <payload>
 *   crc      8 lower-case hex digits: CRC-32 (IEEE) over the bytes "<seq> <at> <len> " followed
 *            by the payload bytes
 *   payload  the record as UTF-8 JSON (JSON.stringify never emits a raw newline, so '\n' is an
 *            unambiguous frame end and a reader can resynchronise after a damaged frame)
 *
 * ## Invariants
 *
 *   1. `append` resolves only after its frames are written and — with fsync 'always', the
 *      default — fdatasync'ed. Only then are they visible to `peek` and are their seqs returned.
 *      So anything a source was told "accepted" is on disk, and nothing unsynced can be sent.
 *   2. Seqs are handed out in order and never reused for a record that may have left the process:
 *      on recovery `nextSeq` is above every seq found on disk (valid, torn or quarantined — unless
 *      a damaged header claims a seq implausibly far ahead) and above the ledger's
 *      `nextSeq`/`ackedSeq`. When a damaged frame carried the highest seq, the ledger's `nextSeq`
 *      is rewritten at once, so the burnt seq stays burnt after the damaged bytes are gone.
 *      Seqs may therefore have gaps; they never repeat.
 *   3. The ledger is written (and synced) BEFORE any segment is deleted. A segment is deleted only
 *      when every record in it has seq <= ackedSeq. A crash in between leaves a fully-acked
 *      segment that the next open deletes. The segment being appended to is retired (closed and
 *      deleted) once fully acked and at least segmentBytes/4 big, or when the size bound is hit.
 *   4. `ack(n)` never goes backwards and never beyond the last appended seq (OUTBOX_BAD_ACK).
 *   5. Total segment bytes never exceed `maxBytes`: an append that would is rejected whole with
 *      OUTBOX_FULL and nothing is written — the caller keeps the records (never silently dropped).
 *      Likewise an append that would leave less than `reserveBytes` free on the disk (see "Disk
 *      space" below).
 *   6. A failed write is rolled back (the segment is truncated to its previous size) and the
 *      seqs are not consumed; if even the rollback fails the outbox refuses further appends.
 *
 * ## Recovery (on open)
 *
 *   Read the ledger (missing → nothing acked; unreadable → treated as nothing acked, so records
 *   are re-delivered, never lost; the hub deduplicates by transaction id). Scan each segment frame
 *   by frame, checking header syntax, length, CRC and seq order:
 *     - damaged bytes at the END of the LAST segment are a torn write (crash mid-append): the file
 *       is truncated back to the last good frame (the bytes are still copied to quarantine.jsonl,
 *       reason 'torn_tail'); its seq, if readable, is not reused (invariant 2). An append torn
 *       part-way may leave a prefix of its frames intact: those are kept and delivered (the
 *       source was not told they were accepted, so it may send them again: at-least-once);
 *     - a damaged frame anywhere else is quarantined to quarantine.jsonl (with segment, offset,
 *       reason, seq if readable and the raw bytes in base64) and skipped; the collector keeps
 *       running and the frames after it are delivered. Quarantine entries are de-duplicated, so
 *       re-opening does not report the same frame twice.
 *   Segments whose records are all acked (or that hold no valid record) are deleted.
 *   A frame that fails its CRC when read later (`peek`) is quarantined the same way.
 *
 * ## Disk space
 *
 *   `maxBytes` bounds the segments, not the disk: on a small or shared disk the segments can fill
 *   it first. A full disk is a trap, not just a stop: every batch needs a chain.json write before
 *   it is sent and every acknowledgement an ack.json write before a segment may be deleted, so a
 *   collector whose outbox took the last block can neither send nor free anything, and stays
 *   stuck until someone frees space by hand. So appends also keep `reserveBytes` free on the
 *   outbox's file system for those state files (and metrics.json, source cursors, reports): an
 *   append that would go below it is refused with OUTBOX_FULL, exactly like the `maxBytes` bound
 *   (the sources hold their records, the HTTP endpoint answers 507), while the link keeps
 *   draining into the reserve; each acknowledgement deletes segments and makes room again.
 *
 *   The reserve only holds while nothing else writes to the disk. When another program fills it
 *   to the last block (a counter PC's updates, downloads, logs), the reserve is gone with it and
 *   the collector would again be unable to write chain.json or ack.json, so unable to send or
 *   free anything, until someone cleaned the disk by hand. So part of the reserve is kept as a
 *   file, `spare.bin` (`spareBytes`, at most half the reserve), written when the outbox opens
 *   with the reserve free and again after acknowledgements once there is room. It counts as free
 *   space for the reserve check (it *is* the reserve, held). A state write that fails with ENOSPC
 *   or EDQUOT deletes it (`releaseSpare`, reported as `outbox.spare_released`) and is retried at
 *   once into the space it gave back; the backlog drains, each acknowledgement deletes segments,
 *   and the spare is written again when the disk has the reserve free once more (checked at most
 *   every `spareRetryMs`, so a disk another program keeps full is not written at per ack).
 *
 *   Free space is read (statfs: blocks available to this user) at most every `freeSpaceMaxAgeMs`,
 *   not per append; in between the bytes appended since the reading are subtracted from it. Only
 *   when that estimate says an append would cut into the reserve is it read again at once (after
 *   retiring a fully-acknowledged active segment), so a refusal is always based on a fresh
 *   reading and space freed by acknowledgements is seen at the next append. Another process can
 *   still eat into the reserve between two readings; that is what the reserve's size is for. If
 *   the free space cannot be read at all (a file system without statfs), the check is skipped
 *   and `maxBytes` is the only bound; this is reported once as `outbox.free_space_unknown`.
 *
 * ## Durability trade-off
 *
 *   fsync 'never' leaves flushing to the OS: much faster, but an OS crash or power loss can lose
 *   records the source was told were accepted, and may re-use the seq of a record that was sent
 *   but lost from the page cache (the hub would then treat the new record as a duplicate).
 *
 * ## Memory
 *
 *   An index of (seq, offset, length, at) per record of the outbox is kept in memory: about 32
 *   bytes per unacknowledged record (≈ 30 MB for a full 1 GiB outbox of 1 KiB records).
 *
 * One process owns a directory at a time (LOCK with its pid; a lock of a dead pid is taken over).
 * All operations of one Outbox are serialised internally, so callers may overlap calls freely.
 */
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fsyncDir, writeFileAtomic } from '../durable.js';
import { CollectorError, errorMessage } from '../errors.js';
import { crc32 } from './crc32.js';

export interface OutboxOptions {
  /** Bound on total segment bytes; appends beyond it fail with OUTBOX_FULL. @defaultValue 1 GiB */
  maxBytes?: number;
  /** Segment roll size. @defaultValue 8 MiB */
  segmentBytes?: number;
  /** @defaultValue 'always' */
  fsync?: 'always' | 'never';
  /**
   * Free space to leave on the outbox's disk for the state files (chain.json, ack.json, …);
   * appends that would go below it fail with OUTBOX_FULL. 0 turns the check off. @defaultValue 32 MiB
   */
  reserveBytes?: number;
  /**
   * Reads the bytes free on the file system holding `dir`. A seam for tests (a simulated full
   * disk without mounting one). @defaultValue statfs: available blocks × block size
   */
  freeSpace?: (dir: string) => Promise<number>;
  /** How long one free-space reading is used (adjusted by what was appended since). @defaultValue 1000 */
  freeSpaceMaxAgeMs?: number;
  /**
   * Bytes of the reserve kept as `spare.bin`, deleted when a state write finds the disk full (see
   * "Disk space"); at most half of `reserveBytes`. 0: no spare file. @defaultValue 0
   */
  spareBytes?: number;
  /** How often, at most, a missing spare file is written again after acknowledgements. @defaultValue 10000 */
  spareRetryMs?: number;
  /** Clock for `at` stamps and the ledger. @defaultValue Date.now */
  now?: () => number;
  /** Called for events worth a log line (quarantine, recovery). */
  onEvent?: (event: OutboxEvent) => void;
}

export type OutboxEvent =
  | { type: 'outbox.recovered'; report: RecoveryReport }
  | { type: 'outbox.quarantined'; entry: QuarantineEntry }
  | { type: 'outbox.free_space_unknown'; message: string }
  | { type: 'outbox.spare_released'; bytes: number }
  | { type: 'outbox.spare_written'; bytes: number };

export type DamageReason = 'torn_tail' | 'bad_frame' | 'length_mismatch' | 'crc_mismatch' | 'seq_order' | 'bad_json';

export interface QuarantineEntry {
  /** When it was quarantined. */
  at: number;
  segment: string;
  offset: number;
  length: number;
  reason: DamageReason;
  /** The seq from the frame header, when it could be read. */
  seq?: number;
  /** The damaged bytes (without the trailing newline), base64. */
  raw: string;
}

export interface RecoveryReport {
  segments: number;
  /** Valid records found on disk (acked or not). */
  records: number;
  /** Records still waiting for an acknowledgement. */
  unacked: number;
  ackedSeq: number;
  nextSeq: number;
  /** Bytes cut off the last segment's torn tail. */
  truncatedBytes: number;
  /** New quarantine entries written by this recovery. */
  quarantined: number;
  deletedSegments: number;
  /** The ledger existed but could not be read; everything on disk is treated as unacked. */
  ledgerReset: boolean;
}

export interface OutboxRecord<T = unknown> {
  seq: number;
  /** Epoch ms when appended. */
  at: number;
  /** Payload size in bytes (UTF-8 JSON). */
  bytes: number;
  payload: T;
}

interface Segment {
  name: string;
  file: string;
  firstSeq: number;
  size: number;
  seqs: number[];
  offs: number[];
  lens: number[];
  ats: number[];
}

interface Ledger {
  version: 1;
  ackedSeq: number;
  nextSeq: number;
  ackedAt: number | null;
}

const LEDGER = 'ack.json';
const QUARANTINE = 'quarantine.jsonl';
const LOCK = 'LOCK';
const SEGMENT_RE = /^seg-(\d{20})\.log$/;
const NL = 0x0a;
const SP = 0x20;

/** A damaged header claiming a seq further ahead than this is not trusted when computing nextSeq. */
const PLAUSIBLE_SEQ_GAP = 1_000_000;

const DEFAULTS = {
  maxBytes: 1024 * 1024 * 1024,
  segmentBytes: 8 * 1024 * 1024,
  fsync: 'always' as const,
  reserveBytes: 32 * 1024 * 1024,
  freeSpaceMaxAgeMs: 1_000,
  spareBytes: 0,
  spareRetryMs: 10_000,
};

/** The reserve held as a file (see "Disk space"). */
export const SPARE_FILE = 'spare.bin';
const SPARE_CHUNK = 64 * 1024;

/** Bytes available to this (unprivileged) user on the file system holding `dir`. */
export async function statfsFreeBytes(dir: string): Promise<number> {
  const st = await fsp.statfs(dir);
  return st.bavail * st.bsize;
}

export function segmentName(firstSeq: number): string {
  return `seg-${String(firstSeq).padStart(20, '0')}.log`;
}

/** Encodes one frame (see the design note). */
export function encodeFrame(seq: number, at: number, payload: string): Buffer {
  const body = Buffer.from(payload, 'utf8');
  const header = Buffer.from(`${seq} ${at} ${body.length} `, 'ascii');
  const crc = crc32(body, crc32(header)).toString(16).padStart(8, '0');
  return Buffer.concat([header, Buffer.from(`${crc} `, 'ascii'), body, Buffer.from('\n')]);
}

interface ParsedFrame {
  seq: number;
  at: number;
  payload: Buffer;
}

/** Parses one frame line (without its newline). Returns a reason string when damaged. */
function parseFrame(line: Buffer): ParsedFrame | { reason: DamageReason; seq?: number } {
  const sp: number[] = [];
  for (let i = 0; i < line.length && sp.length < 4 && i < 64; i++) if (line[i] === SP) sp.push(i);
  const seqText = line.subarray(0, sp[0] ?? Math.min(line.length, 20)).toString('ascii');
  const seqGuess = /^\d{1,16}$/.test(seqText) ? Number(seqText) : undefined;
  const withSeq = (reason: DamageReason) => (seqGuess === undefined ? { reason } : { reason, seq: seqGuess });
  if (sp.length < 4) return withSeq('bad_frame');
  const [a, b, c, d] = sp as [number, number, number, number];
  const atText = line.subarray(a + 1, b).toString('ascii');
  const lenText = line.subarray(b + 1, c).toString('ascii');
  const crcText = line.subarray(c + 1, d).toString('ascii');
  if (seqGuess === undefined || !/^\d{1,16}$/.test(atText) || !/^\d{1,10}$/.test(lenText) || !/^[0-9a-f]{8}$/.test(crcText)) {
    return withSeq('bad_frame');
  }
  const payload = line.subarray(d + 1);
  if (payload.length !== Number(lenText)) return withSeq('length_mismatch');
  const crc = crc32(payload, crc32(line.subarray(0, c + 1)));
  if (crc !== parseInt(crcText, 16)) return withSeq('crc_mismatch');
  return { seq: seqGuess, at: Number(atText), payload };
}

interface ScanResult {
  frames: { seq: number; at: number; off: number; len: number }[];
  bad: { off: number; len: number; reason: DamageReason; seq?: number }[];
}

/** Splits a segment's bytes into valid frames and damaged stretches. `afterSeq`: seqs must exceed it. */
function scanSegment(buf: Buffer, afterSeq: number): ScanResult {
  const frames: ScanResult['frames'] = [];
  const bad: ScanResult['bad'] = [];
  let last = afterSeq;
  let off = 0;
  while (off < buf.length) {
    const nl = buf.indexOf(NL, off);
    if (nl === -1) {
      // No newline: the write of this frame never completed.
      const p = parseFrame(buf.subarray(off));
      bad.push({ off, len: buf.length - off, reason: 'bad_frame', ...('seq' in p && p.seq !== undefined ? { seq: p.seq } : {}) });
      break;
    }
    const p = parseFrame(buf.subarray(off, nl));
    const len = nl + 1 - off;
    if ('reason' in p) {
      bad.push({ off, len, reason: p.reason, ...(p.seq !== undefined ? { seq: p.seq } : {}) });
    } else if (p.seq <= last) {
      bad.push({ off, len, reason: 'seq_order', seq: p.seq });
    } else {
      frames.push({ seq: p.seq, at: p.at, off, len });
      last = p.seq;
    }
    off = nl + 1;
  }
  return { frames, bad };
}

function firstIndexAbove(seqs: readonly number[], seq: number): number {
  let lo = 0;
  let hi = seqs.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (seqs[mid]! <= seq) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function readLedger(dir: string): Promise<{ ledger: Ledger; reset: boolean }> {
  const empty: Ledger = { version: 1, ackedSeq: 0, nextSeq: 1, ackedAt: null };
  let text: string;
  try {
    text = await fsp.readFile(path.join(dir, LEDGER), 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { ledger: empty, reset: false };
    throw e;
  }
  try {
    const j = JSON.parse(text) as Partial<Ledger>;
    if (typeof j.ackedSeq !== 'number' || !Number.isInteger(j.ackedSeq) || j.ackedSeq < 0) throw new Error('bad ackedSeq');
    return {
      ledger: {
        version: 1,
        ackedSeq: j.ackedSeq,
        nextSeq: typeof j.nextSeq === 'number' && Number.isInteger(j.nextSeq) ? j.nextSeq : j.ackedSeq + 1,
        ackedAt: typeof j.ackedAt === 'number' ? j.ackedAt : null,
      },
      reset: false,
    };
  } catch {
    return { ledger: empty, reset: true };
  }
}

/** Replaces the ledger atomically: write a temp file, fsync it, rename over, fsync the directory. */
async function writeLedgerFile(dir: string, ledger: Ledger, sync: boolean): Promise<void> {
  try {
    await writeFileAtomic(path.join(dir, LEDGER), JSON.stringify(ledger), sync);
  } catch (e) {
    throw new CollectorError('OUTBOX_IO', `cannot write the ack ledger in ${dir}: ${errorMessage(e)}`, { cause: e });
  }
}

async function listSegments(dir: string): Promise<{ name: string; firstSeq: number }[]> {
  const names = await fsp.readdir(dir);
  return names
    .map((name) => {
      const m = SEGMENT_RE.exec(name);
      return m ? { name, firstSeq: Number(m[1]) } : undefined;
    })
    .filter((s): s is { name: string; firstSeq: number } => s !== undefined)
    .sort((a, b) => a.firstSeq - b.firstSeq);
}

function quarantineKey(e: Pick<QuarantineEntry, 'segment' | 'offset' | 'raw'>): string {
  return `${e.segment}@${e.offset}:${e.raw.length}:${crc32(Buffer.from(e.raw, 'base64')).toString(16)}`;
}

export class Outbox {
  readonly dir: string;
  readonly recovery: RecoveryReport;
  private readonly opts: Required<Omit<OutboxOptions, 'onEvent'>> & Pick<OutboxOptions, 'onEvent'>;
  private segments: Segment[];
  private active: { seg: Segment; fh: fsp.FileHandle } | undefined;
  private _ackedSeq: number;
  private _nextSeq: number;
  private _lastAckAt: number | null;
  private chain: Promise<unknown> = Promise.resolve();
  private closed = false;
  private broken: string | undefined;
  private readonly quarantineKeys: Set<string>;
  /** Last free-space reading (`at`: performance.now()) and the bytes appended since. */
  private disk: { free: number; at: number; appended: number } | undefined;
  private freeSpaceUnknown = false;
  /** Bytes held in SPARE_FILE now (0: none), and when writing it was last considered. */
  private spareHeld = 0;
  private spareTriedAt = Number.NEGATIVE_INFINITY;

  private constructor(
    dir: string,
    opts: Outbox['opts'],
    state: { segments: Segment[]; ledger: Ledger; nextSeq: number; recovery: RecoveryReport; quarantineKeys: Set<string> },
  ) {
    this.dir = dir;
    this.opts = opts;
    this.segments = state.segments;
    this._ackedSeq = state.ledger.ackedSeq;
    this._lastAckAt = state.ledger.ackedAt;
    this._nextSeq = state.nextSeq;
    this.recovery = state.recovery;
    this.quarantineKeys = state.quarantineKeys;
  }

  /** Opens (creating if needed) and recovers the outbox in `dir`. */
  static async open(dir: string, options: OutboxOptions = {}): Promise<Outbox> {
    const opts = {
      maxBytes: options.maxBytes ?? DEFAULTS.maxBytes,
      segmentBytes: options.segmentBytes ?? DEFAULTS.segmentBytes,
      fsync: options.fsync ?? DEFAULTS.fsync,
      reserveBytes: options.reserveBytes ?? DEFAULTS.reserveBytes,
      freeSpace: options.freeSpace ?? statfsFreeBytes,
      freeSpaceMaxAgeMs: options.freeSpaceMaxAgeMs ?? DEFAULTS.freeSpaceMaxAgeMs,
      spareBytes: Math.max(0, Math.min(options.spareBytes ?? DEFAULTS.spareBytes, Math.floor((options.reserveBytes ?? DEFAULTS.reserveBytes) / 2))),
      spareRetryMs: options.spareRetryMs ?? DEFAULTS.spareRetryMs,
      now: options.now ?? Date.now,
      onEvent: options.onEvent,
    };
    const abs = path.resolve(dir);
    try {
      await fsp.mkdir(abs, { recursive: true });
    } catch (e) {
      throw new CollectorError('OUTBOX_IO', `cannot create ${abs}: ${errorMessage(e)}`, { cause: e });
    }
    await acquireLock(abs, async () => {
      const bytes = opts.spareBytes > 0 ? await deleteSpare(abs) : 0;
      if (bytes > 0) opts.onEvent?.({ type: 'outbox.spare_released', bytes });
      return bytes > 0;
    });
    try {
      const ob = await Outbox.recover(abs, opts);
      await ob.openSpare();
      return ob;
    } catch (e) {
      await fsp.unlink(path.join(abs, LOCK)).catch(() => {});
      if (e instanceof CollectorError) throw e;
      throw new CollectorError('OUTBOX_IO', `recovery of ${abs} failed: ${errorMessage(e)}`, { cause: e });
    }
  }

  private static async recover(dir: string, opts: Outbox['opts']): Promise<Outbox> {
    await fsp.unlink(path.join(dir, `${LEDGER}.tmp`)).catch(() => {});
    const { ledger, reset } = await readLedger(dir);
    const quarantineKeys = await loadQuarantineKeys(dir);
    const listed = await listSegments(dir);
    const report: RecoveryReport = {
      segments: 0, records: 0, unacked: 0, ackedSeq: ledger.ackedSeq, nextSeq: 0,
      truncatedBytes: 0, quarantined: 0, deletedSegments: 0, ledgerReset: reset,
    };
    const newQuarantine: QuarantineEntry[] = [];
    const segments: Segment[] = [];
    let lastSeq = 0;
    let highestSeen = 0;
    const now = opts.now();

    for (let i = 0; i < listed.length; i++) {
      const { name, firstSeq } = listed[i]!;
      const file = path.join(dir, name);
      const buf = await fsp.readFile(file);
      const { frames, bad } = scanSegment(buf, lastSeq);
      const isLast = i === listed.length - 1;
      const lastGoodEnd = frames.length > 0 ? frames[frames.length - 1]!.off + frames[frames.length - 1]!.len : 0;
      let size = buf.length;
      for (const b of bad) {
        // A damaged frame's seq counts as handed out (invariant 2) unless it is implausibly far
        // ahead — then the header itself is what got damaged.
        const ref = Math.max(lastSeq, highestSeen, ledger.nextSeq - 1, frames[frames.length - 1]?.seq ?? 0);
        if (b.seq !== undefined && b.seq <= ref + PLAUSIBLE_SEQ_GAP) highestSeen = Math.max(highestSeen, b.seq);
        const torn = isLast && b.off >= lastGoodEnd;
        const raw = buf.subarray(b.off, b.off + b.len - (buf[b.off + b.len - 1] === NL ? 1 : 0)).toString('base64');
        const entry: QuarantineEntry = {
          at: now,
          segment: name,
          offset: b.off,
          length: b.len,
          reason: torn ? 'torn_tail' : b.reason,
          ...(b.seq !== undefined ? { seq: b.seq } : {}),
          raw,
        };
        const key = quarantineKey(entry);
        if (!quarantineKeys.has(key)) {
          quarantineKeys.add(key);
          newQuarantine.push(entry);
        }
      }
      if (isLast && lastGoodEnd < buf.length && bad.some((b) => b.off >= lastGoodEnd)) {
        // Torn tail: cut back to the end of the last good frame. Quarantine first (above), so the
        // bytes survive for inspection.
        report.quarantined += newQuarantine.length;
        if (newQuarantine.length > 0) await appendQuarantine(dir, newQuarantine.splice(0), opts.fsync === 'always');
        const fh = await fsp.open(file, 'r+');
        try {
          await fh.truncate(lastGoodEnd);
          if (opts.fsync === 'always') await fh.datasync();
        } finally {
          await fh.close();
        }
        report.truncatedBytes += buf.length - lastGoodEnd;
        size = lastGoodEnd;
      }
      if (frames.length > 0) {
        lastSeq = frames[frames.length - 1]!.seq;
        highestSeen = Math.max(highestSeen, lastSeq);
      }
      segments.push({
        name,
        file,
        firstSeq,
        size,
        seqs: frames.map((f) => f.seq),
        offs: frames.map((f) => f.off),
        lens: frames.map((f) => f.len),
        ats: frames.map((f) => f.at),
      });
    }
    report.quarantined += newQuarantine.length;
    if (newQuarantine.length > 0) await appendQuarantine(dir, newQuarantine, opts.fsync === 'always');
    report.segments = segments.length;

    // Delete segments with nothing left to deliver (invariant 3: the ledger already says so).
    const kept: Segment[] = [];
    for (const s of segments) {
      const lastInSeg = s.seqs.length > 0 ? s.seqs[s.seqs.length - 1]! : -1;
      if (s.seqs.length === 0 || lastInSeg <= ledger.ackedSeq) {
        await fsp.unlink(s.file);
        report.deletedSegments += 1;
      } else {
        kept.push(s);
      }
    }
    if (report.deletedSegments > 0) await fsyncDir(dir);

    const nextSeq = Math.max(ledger.nextSeq, ledger.ackedSeq + 1, highestSeen + 1, 1);
    if (nextSeq > ledger.nextSeq && highestSeen > lastSeq) {
      // A torn or quarantined frame carried the highest seq: remember that it is burnt, or the
      // next recovery (with the damaged bytes gone) would hand it out again (invariant 2).
      ledger.nextSeq = nextSeq;
      await writeLedgerFile(dir, ledger, opts.fsync === 'always');
    }
    for (const s of kept) {
      report.records += s.seqs.length;
      report.unacked += s.seqs.length - firstIndexAbove(s.seqs, ledger.ackedSeq);
    }
    report.nextSeq = nextSeq;
    const outbox = new Outbox(dir, opts, { segments: kept, ledger, nextSeq, recovery: report, quarantineKeys });
    opts.onEvent?.({ type: 'outbox.recovered', report });
    return outbox;
  }

  /** The seq the next appended record will get. */
  get nextSeq(): number {
    return this._nextSeq;
  }

  /** Highest acknowledged seq (0 = none). */
  get ackedSeq(): number {
    return this._ackedSeq;
  }

  /** Epoch ms of the last acknowledgement, from the ledger (survives restarts). */
  get lastAckAt(): number | null {
    return this._lastAckAt;
  }

  /**
   * Appends records; resolves with their seqs once durable (see invariant 1). `build`, if given,
   * turns each item into the stored payload knowing its seq (the collector embeds the seq in the
   * record). Rejects with OUTBOX_FULL (nothing written) when the size bound would be exceeded or
   * the disk would be left with less than `reserveBytes` free (see "Disk space").
   */
  append<T>(items: readonly T[], build?: (item: T, seq: number) => unknown): Promise<number[]> {
    return this.exclusive(async () => {
      this.assertWritable();
      if (items.length === 0) return [];
      const at = this.opts.now();
      const first = this._nextSeq;
      const parts: Buffer[] = [];
      const lens: number[] = [];
      items.forEach((item, i) => {
        const seq = first + i;
        const json = JSON.stringify(build ? build(item, seq) : item);
        if (json === undefined) throw new TypeError(`outbox: record ${seq} is not JSON-serialisable`);
        const frame = encodeFrame(seq, at, json);
        parts.push(frame);
        lens.push(frame.length);
      });
      const buf = Buffer.concat(parts);

      if (this.bytes() + buf.length > this.opts.maxBytes) {
        await this.retireActiveIfAcked(0);
        if (this.bytes() + buf.length > this.opts.maxBytes) {
          throw new CollectorError(
            'OUTBOX_FULL',
            `${this.dir}: ${this.bytes()} + ${buf.length} bytes would exceed the bound of ${this.opts.maxBytes}`,
          );
        }
      }
      if (!this.leavesReserve(await this.freeBytes(false), buf.length)) {
        // Room may have been made since the reading (acknowledged segments deleted): retire what
        // is fully acked and read again before refusing.
        await this.retireActiveIfAcked(0);
        const free = await this.freeBytes(true);
        if (!this.leavesReserve(free, buf.length)) {
          throw new CollectorError(
            'OUTBOX_FULL',
            `${this.dir}: ${free} bytes free on its disk; ${buf.length} more would leave less than the reserve of ${this.opts.reserveBytes} bytes kept for the collector's state files (JG_OUTBOX_RESERVE_BYTES)`,
          );
        }
      }

      let act: { seg: Segment; fh: fsp.FileHandle };
      try {
        await this.ensureActive(first, buf.length);
        act = this.active!;
      } catch (e) {
        throw new CollectorError('OUTBOX_IO', `cannot open a segment in ${this.dir}: ${errorMessage(e)}`, { cause: e });
      }
      const before = act.seg.size;
      try {
        let written = 0;
        while (written < buf.length) {
          const { bytesWritten } = await act.fh.write(buf, written, buf.length - written);
          written += bytesWritten;
        }
        if (this.opts.fsync === 'always') await act.fh.datasync();
      } catch (e) {
        try {
          await act.fh.truncate(before);
        } catch (e2) {
          this.broken = `write failed and could not be rolled back: ${errorMessage(e2)}`;
        }
        throw new CollectorError('OUTBOX_IO', `append to ${act.seg.name} failed: ${errorMessage(e)}`, { cause: e });
      }
      const seqs: number[] = [];
      let off = before;
      for (let i = 0; i < items.length; i++) {
        const seq = first + i;
        act.seg.seqs.push(seq);
        act.seg.offs.push(off);
        act.seg.lens.push(lens[i]!);
        act.seg.ats.push(at);
        off += lens[i]!;
        seqs.push(seq);
      }
      act.seg.size = off;
      this._nextSeq = first + items.length;
      if (this.disk) this.disk.appended += buf.length;
      return seqs;
    });
  }

  /**
   * Up to `maxRecords` records with seq > `afterSeq`, in seq order, stopping before `maxBytes`
   * of payload would be exceeded (but always at least one record when any is available).
   */
  peek<T = unknown>(afterSeq: number, maxRecords: number, maxBytes = Number.POSITIVE_INFINITY): Promise<OutboxRecord<T>[]> {
    return this.exclusive(async () => {
      this.assertOpen();
      for (;;) {
        const out: OutboxRecord<T>[] = [];
        let bytes = 0;
        let damaged = false;
        outer: for (const seg of this.segments) {
          const n = seg.seqs.length;
          if (n === 0 || seg.seqs[n - 1]! <= afterSeq) continue;
          let i = firstIndexAbove(seg.seqs, afterSeq);
          // Pick the run of frames from this segment that fits the limits.
          let j = i;
          let runBytes = 0;
          while (j < n && out.length + (j - i) < maxRecords) {
            const len = seg.lens[j]!;
            if (out.length + (j - i) > 0 && bytes + runBytes + len > maxBytes) break;
            runBytes += len;
            j++;
          }
          if (j === i) break;
          const start = seg.offs[i]!;
          const end = seg.offs[j - 1]! + seg.lens[j - 1]!;
          const buf = Buffer.alloc(end - start);
          const fh = await fsp.open(seg.file, 'r');
          try {
            await fh.read(buf, 0, buf.length, start);
          } finally {
            await fh.close();
          }
          for (; i < j; i++) {
            const off = seg.offs[i]! - start;
            const line = buf.subarray(off, off + seg.lens[i]! - 1);
            const p = parseFrame(line);
            let payload: T;
            if ('reason' in p || p.seq !== seg.seqs[i]) {
              await this.quarantineIndexed(seg, i, line, 'reason' in p ? p.reason : 'seq_order');
              damaged = true;
              break outer;
            }
            try {
              payload = JSON.parse(p.payload.toString('utf8')) as T;
            } catch {
              await this.quarantineIndexed(seg, i, line, 'bad_json');
              damaged = true;
              break outer;
            }
            out.push({ seq: p.seq, at: p.at, bytes: p.payload.length, payload });
            bytes += seg.lens[i]!;
          }
          if (out.length >= maxRecords || j < n) break;
        }
        if (!damaged) return out;
        // A frame went bad on disk since it was indexed: it is quarantined; read again.
      }
    });
  }

  /** Marks every record with seq <= upToSeq as delivered; deletes segments that became empty. */
  ack(upToSeq: number): Promise<void> {
    return this.exclusive(async () => {
      this.assertOpen();
      if (!Number.isInteger(upToSeq)) throw new CollectorError('OUTBOX_BAD_ACK', `seq ${upToSeq} is not an integer`);
      if (upToSeq <= this._ackedSeq) return;
      if (upToSeq >= this._nextSeq) {
        throw new CollectorError('OUTBOX_BAD_ACK', `ack of ${upToSeq} but the last appended seq is ${this._nextSeq - 1}`);
      }
      const at = this.opts.now();
      await this.writeLedger({ version: 1, ackedSeq: upToSeq, nextSeq: this._nextSeq, ackedAt: at });
      this._ackedSeq = upToSeq;
      this._lastAckAt = at;
      // Invariant 3: the ledger is durable; now segments wholly at or below it may go.
      const kept: Segment[] = [];
      let deleted = false;
      for (const s of this.segments) {
        const last = s.seqs.length > 0 ? s.seqs[s.seqs.length - 1]! : -1;
        if (s !== this.active?.seg && last <= upToSeq) {
          await fsp.unlink(s.file).catch((e: NodeJS.ErrnoException) => {
            if (e.code !== 'ENOENT') throw e;
          });
          deleted = true;
        } else {
          kept.push(s);
        }
      }
      this.segments = kept;
      if (deleted && this.opts.fsync === 'always') await fsyncDir(this.dir);
      await this.retireActiveIfAcked(this.opts.segmentBytes / 4);
      if (deleted) await this.writeSpare(false);
    });
  }

  /**
   * Deletes the spare file, giving its bytes back to the disk for a state file that could not be
   * written (see "Disk space"). True when there was one to delete: the write is worth retrying
   * at once.
   */
  releaseSpare(): Promise<boolean> {
    return this.exclusive(async () => {
      if (this.closed || this.spareHeld === 0) return false;
      const bytes = this.spareHeld;
      // Gone already (someone cleaning the disk by hand) counts as given back.
      if ((await deleteSpare(this.dir)) === 0 && fs.existsSync(path.join(this.dir, SPARE_FILE))) return false;
      this.spareHeld = 0;
      this.spareTriedAt = performance.now();
      // The next append reads the disk again rather than trusting an estimate made with the spare.
      this.disk = undefined;
      this.opts.onEvent?.({ type: 'outbox.spare_released', bytes });
      return true;
    });
  }

  /** Bytes held in the spare file now (0 while it is released or turned off). */
  get spareBytes(): number {
    return this.spareHeld;
  }

  /**
   * At open: takes over the spare file the last run left when it has the size wanted; one of
   * another size (the setting changed) or no longer wanted is removed; then one is written.
   */
  private async openSpare(): Promise<void> {
    const file = path.join(this.dir, SPARE_FILE);
    await fsp.unlink(`${file}.tmp`).catch(() => {});
    const size = await fsp.stat(file).then((st) => st.size, () => -1);
    if (size > 0 && size === this.opts.spareBytes) {
      this.spareHeld = size;
      return;
    }
    if (size >= 0) await fsp.unlink(file).catch(() => {});
    await this.writeSpare(true);
  }

  /**
   * Writes the spare file when there is none and the disk has the reserve free (a fresh reading);
   * `now` skips the `spareRetryMs` pacing. Real blocks (zeros written, not a sparse file), written
   * under a temp name and renamed, so a spare cut short by the disk filling up is never counted.
   * A failure is not an error: the outbox works without it, as it did before there was one.
   */
  private async writeSpare(now: boolean): Promise<void> {
    const bytes = this.opts.spareBytes;
    if (bytes <= 0 || this.spareHeld > 0) return;
    const t = performance.now();
    if (!now && t - this.spareTriedAt < this.opts.spareRetryMs) return;
    this.spareTriedAt = t;
    if ((await this.freeBytes(true)) < this.opts.reserveBytes) return;
    const file = path.join(this.dir, SPARE_FILE);
    const tmp = `${file}.tmp`;
    let fh: fsp.FileHandle | undefined;
    try {
      fh = await fsp.open(tmp, 'w');
      const zeros = Buffer.alloc(Math.min(SPARE_CHUNK, bytes));
      for (let written = 0; written < bytes; ) {
        const { bytesWritten } = await fh.write(zeros, 0, Math.min(zeros.length, bytes - written));
        written += bytesWritten;
      }
      if (this.opts.fsync === 'always') await fh.sync();
      const open = fh;
      fh = undefined;
      await open.close();
      await fsp.rename(tmp, file);
    } catch {
      await fh?.close().catch(() => {});
      await fsp.unlink(tmp).catch(() => {});
      return;
    }
    this.spareHeld = bytes;
    this.disk = undefined;
    this.opts.onEvent?.({ type: 'outbox.spare_written', bytes });
  }

  /** Records waiting for an acknowledgement. */
  depth(): number {
    let n = 0;
    for (const s of this.segments) n += s.seqs.length - firstIndexAbove(s.seqs, this._ackedSeq);
    return n;
  }

  /** Bytes of all segment files. */
  bytes(): number {
    return this.segments.reduce((sum, s) => sum + s.size, 0);
  }

  /** The oldest record waiting for an acknowledgement. */
  oldestUnacked(): { seq: number; at: number } | null {
    for (const s of this.segments) {
      const i = firstIndexAbove(s.seqs, this._ackedSeq);
      if (i < s.seqs.length) return { seq: s.seqs[i]!, at: s.ats[i]! };
    }
    return null;
  }

  /** Flushes and closes the files and releases the directory lock. Idempotent. */
  close(): Promise<void> {
    return this.exclusive(async () => {
      if (this.closed) return;
      this.closed = true;
      if (this.active) {
        try {
          if (this.opts.fsync === 'always') await this.active.fh.datasync();
        } finally {
          await this.active.fh.close();
          this.active = undefined;
        }
      }
      await fsp.unlink(path.join(this.dir, LOCK)).catch(() => {});
    });
  }

  get isClosed(): boolean {
    return this.closed;
  }

  // ---- internals -----------------------------------------------------------------------------

  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.chain.then(fn, fn);
    this.chain = run.catch(() => undefined);
    return run;
  }

  private assertOpen(): void {
    if (this.closed) throw new CollectorError('OUTBOX_CLOSED', this.dir);
  }

  private assertWritable(): void {
    this.assertOpen();
    if (this.broken) throw new CollectorError('OUTBOX_IO', `${this.dir}: ${this.broken}`);
  }

  /**
   * Makes sure there is an active segment with room for `needBytes` more (a segment always takes
   * at least one append, however big). Continues the newest segment after a restart if it has
   * room; otherwise starts `seg-<firstSeq>.log`.
   */
  private async ensureActive(firstSeq: number, needBytes: number): Promise<Segment> {
    const fits = (s: Segment): boolean => s.size === 0 || s.size + needBytes <= this.opts.segmentBytes;
    if (this.active) {
      if (fits(this.active.seg)) return this.active.seg;
      const old = this.active;
      this.active = undefined;
      await old.fh.close();
    } else {
      const last = this.segments[this.segments.length - 1];
      if (last && fits(last)) {
        this.active = { seg: last, fh: await fsp.open(last.file, 'a') };
        return last;
      }
    }
    const name = segmentName(firstSeq);
    const seg: Segment = { name, file: path.join(this.dir, name), firstSeq, size: 0, seqs: [], offs: [], lens: [], ats: [] };
    const fh = await fsp.open(seg.file, 'a');
    this.segments.push(seg);
    this.active = { seg, fh };
    if (this.opts.fsync === 'always') await fsyncDir(this.dir);
    return seg;
  }

  /** Closes and deletes the active segment if all its records are acked and it is >= minSize bytes. */
  private async retireActiveIfAcked(minSize: number): Promise<void> {
    const act = this.active;
    if (!act) return;
    const n = act.seg.seqs.length;
    const fullyAcked = n === 0 || act.seg.seqs[n - 1]! <= this._ackedSeq;
    if (!fullyAcked || act.seg.size < minSize || act.seg.size === 0) return;
    this.active = undefined;
    await act.fh.close();
    await fsp.unlink(act.seg.file).catch(() => {});
    this.segments = this.segments.filter((s) => s !== act.seg);
    if (this.opts.fsync === 'always') await fsyncDir(this.dir);
  }

  private leavesReserve(free: number, needBytes: number): boolean {
    // The spare file is the reserve held, not space taken from it.
    return this.opts.reserveBytes <= 0 || free + this.spareHeld - needBytes >= this.opts.reserveBytes;
  }

  /**
   * Free bytes on the outbox's disk: a reading younger than freeSpaceMaxAgeMs less what was
   * appended since, or (`fresh`, or no such reading) a new one. Infinity when it cannot be read.
   */
  private async freeBytes(fresh: boolean): Promise<number> {
    if (this.opts.reserveBytes <= 0) return Number.POSITIVE_INFINITY;
    // A monotonic clock: `now` may be a test's fixed clock, and wall time can jump.
    const t = performance.now();
    if (fresh || !this.disk || t - this.disk.at >= this.opts.freeSpaceMaxAgeMs) {
      let free: number;
      try {
        free = await this.opts.freeSpace(this.dir);
        if (!Number.isFinite(free)) throw new Error(`free space reading ${free}`);
      } catch (e) {
        if (!this.freeSpaceUnknown) {
          this.freeSpaceUnknown = true;
          this.opts.onEvent?.({
            type: 'outbox.free_space_unknown',
            message: `${this.dir}: cannot read the disk's free space (${errorMessage(e)}); only the outbox size bound applies`,
          });
        }
        free = Number.POSITIVE_INFINITY;
      }
      this.disk = { free, at: t, appended: 0 };
    }
    return this.disk.free - this.disk.appended;
  }

  private async writeLedger(ledger: Ledger): Promise<void> {
    await writeLedgerFile(this.dir, ledger, this.opts.fsync === 'always');
  }

  /** Quarantines the indexed frame `i` of `seg` found damaged at read time and drops it from the index. */
  private async quarantineIndexed(seg: Segment, i: number, line: Buffer, reason: DamageReason): Promise<void> {
    const entry: QuarantineEntry = {
      at: this.opts.now(),
      segment: seg.name,
      offset: seg.offs[i]!,
      length: seg.lens[i]!,
      reason,
      seq: seg.seqs[i]!,
      raw: line.toString('base64'),
    };
    const key = quarantineKey(entry);
    if (!this.quarantineKeys.has(key)) {
      this.quarantineKeys.add(key);
      await appendQuarantine(this.dir, [entry], this.opts.fsync === 'always');
    }
    seg.seqs.splice(i, 1);
    seg.offs.splice(i, 1);
    seg.lens.splice(i, 1);
    seg.ats.splice(i, 1);
    this.opts.onEvent?.({ type: 'outbox.quarantined', entry });
  }
}

async function loadQuarantineKeys(dir: string): Promise<Set<string>> {
  const keys = new Set<string>();
  let text: string;
  try {
    text = await fsp.readFile(path.join(dir, QUARANTINE), 'utf8');
  } catch {
    return keys;
  }
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    try {
      const e = JSON.parse(line) as QuarantineEntry;
      keys.add(quarantineKey(e));
    } catch {
      /* a damaged report line is not worth failing over */
    }
  }
  return keys;
}

async function appendQuarantine(dir: string, entries: readonly QuarantineEntry[], sync: boolean): Promise<void> {
  if (entries.length === 0) return;
  const fh = await fsp.open(path.join(dir, QUARANTINE), 'a');
  try {
    await fh.write(entries.map((e) => `${JSON.stringify(e)}\n`).join(''));
    if (sync) await fh.datasync();
  } finally {
    await fh.close();
  }
}

/** Deletes the spare file in `dir`; the bytes it held, 0 when there was none or it stayed. */
async function deleteSpare(dir: string): Promise<number> {
  const file = path.join(dir, SPARE_FILE);
  const bytes = await fsp.stat(file).then((st) => st.size, () => 0);
  return bytes > 0 && (await fsp.unlink(file).then(() => true, () => false)) ? bytes : 0;
}

/**
 * Takes the directory's lock file. On a disk full to the last block the lock's few bytes do not
 * fit: `freeSpare` (the spare file deleted, see "Disk space") makes room once and it is tried again.
 */
async function acquireLock(dir: string, freeSpare: () => Promise<boolean>): Promise<void> {
  const file = path.join(dir, LOCK);
  const body = JSON.stringify({ pid: process.pid, host: os.hostname(), since: Date.now() });
  let spareFreed = false;
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      await fsp.writeFile(file, body, { flag: 'wx' });
      return;
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if ((code === 'ENOSPC' || code === 'EDQUOT') && !spareFreed) {
        // 'wx' created the file before its write failed: it is ours, and empty or cut short.
        await fsp.unlink(file).catch(() => {});
        spareFreed = true;
        if (await freeSpare()) {
          attempt -= 1;
          continue;
        }
      }
      if (code !== 'EEXIST') {
        throw new CollectorError('OUTBOX_IO', `cannot lock ${dir}: ${errorMessage(e)}`, { cause: e });
      }
    }
    let holder: { pid?: unknown; host?: unknown } = {};
    try {
      holder = JSON.parse(await fsp.readFile(file, 'utf8')) as typeof holder;
    } catch {
      /* unreadable lock: treat as stale */
    }
    const pid = typeof holder.pid === 'number' ? holder.pid : undefined;
    const sameHost = holder.host === undefined || holder.host === os.hostname();
    if (pid !== undefined && sameHost && isAlive(pid)) {
      throw new CollectorError(
        'OUTBOX_LOCKED',
        `${dir} is in use by process ${pid}${pid === process.pid ? ' (this process)' : ''}; if no collector is running, delete ${file}`,
      );
    }
    await fsp.unlink(file).catch(() => {});
  }
  throw new CollectorError('OUTBOX_LOCKED', `${dir}: could not take the lock`);
}

/** What `status` prints: read-only, safe while a collector has the outbox open. */
export interface OutboxInspection {
  dir: string;
  exists: boolean;
  ackedSeq: number;
  lastAckAt: number | null;
  nextSeq: number;
  depth: number;
  oldestUnacked: { seq: number; at: number } | null;
  segments: number;
  bytes: number;
  quarantined: number;
  /** Bytes of the spare file (0: none — deleted to make room on a full disk, or turned off). */
  spareBytes: number;
  /** Bytes free on the outbox's disk, or null when they cannot be read. */
  diskFreeBytes: number | null;
  /** Pid in the LOCK file and whether that process is alive. */
  lock: { pid: number; alive: boolean } | null;
}

/** Reads an outbox directory without changing anything (no recovery, no lock). */
export async function inspectOutbox(dir: string): Promise<OutboxInspection> {
  const abs = path.resolve(dir);
  const result: OutboxInspection = {
    dir: abs, exists: fs.existsSync(abs), ackedSeq: 0, lastAckAt: null, nextSeq: 1, depth: 0,
    oldestUnacked: null, segments: 0, bytes: 0, quarantined: 0, spareBytes: 0, diskFreeBytes: null, lock: null,
  };
  if (!result.exists) return result;
  const { ledger } = await readLedger(abs);
  result.ackedSeq = ledger.ackedSeq;
  result.lastAckAt = ledger.ackedAt;
  let highest = Math.max(ledger.nextSeq - 1, ledger.ackedSeq);
  let last = 0;
  for (const { name } of await listSegments(abs)) {
    let buf: Buffer;
    try {
      buf = await fsp.readFile(path.join(abs, name));
    } catch {
      continue; // deleted while we looked
    }
    result.segments += 1;
    result.bytes += buf.length;
    const { frames } = scanSegment(buf, last);
    for (const f of frames) {
      if (f.seq > ledger.ackedSeq) {
        result.depth += 1;
        if (!result.oldestUnacked) result.oldestUnacked = { seq: f.seq, at: f.at };
      }
      highest = Math.max(highest, f.seq);
      last = f.seq;
    }
  }
  result.nextSeq = highest + 1;
  try {
    const text = await fsp.readFile(path.join(abs, QUARANTINE), 'utf8');
    result.quarantined = text.split('\n').filter((l) => l.trim()).length;
  } catch {
    /* none */
  }
  result.spareBytes = await fsp.stat(path.join(abs, SPARE_FILE)).then((st) => st.size, () => 0);
  result.diskFreeBytes = await statfsFreeBytes(abs).catch(() => null);
  try {
    const holder = JSON.parse(await fsp.readFile(path.join(abs, LOCK), 'utf8')) as { pid?: unknown };
    if (typeof holder.pid === 'number') result.lock = { pid: holder.pid, alive: isAlive(holder.pid) };
  } catch {
    /* unlocked */
  }
  return result;
}
