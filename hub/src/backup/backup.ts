/**
 * Backups of the embedded store (chDB) while the hub runs.
 *
 * Design note
 * -----------
 * The store is a ClickHouse data directory bound to this process: no other process may open it
 * while the hub runs, so a backup is made from inside. Every table of the schema is a MergeTree
 * (the views hold no data), and a MergeTree's parts are immutable: `ALTER TABLE … FREEZE WITH
 * NAME n` hard-links the table's current parts under `<store>/shadow/n/` in a moment, without
 * stopping inserts or merges. The backup directory is then built as a data directory of its own:
 *
 *   <backup>/chdb/metadata, data          the live ones' symlinks (relative, so they hold)
 *   <backup>/chdb/store/<db>/…sql         the database's table definitions, as they are now
 *   <backup>/chdb/store/<t>/<parts>       each table's frozen parts, copied out of shadow/n
 *   <backup>/pseudonym-keyring.json       without it stored hashes no longer join new arrivals
 *   <backup>/evidence/<sha256>            uploaded evidence (content-addressed, never rewritten)
 *   <backup>/rule-state.jsonl             what the stateful rules count, copied from Redis
 *                                         (rule-state-copy.ts; JG_RULE_STATE=local)
 *   <backup>/manifest.json                written last: a directory without it is unfinished
 *
 * so restoring is copying `<backup>/chdb` into place (or pointing JG_DATA_DIR at a copy of the
 * backup; `jianguan-hub backup restore` does the first). The copy is real (not hard links): a
 * backup on another disk survives the store's disk.
 *
 * Consistency. Each table is frozen at its own instant, a few milliseconds apart, in the order
 * of system.tables: rows written in between may be in one table and not another (a warning
 * without its transaction's row, or the reverse). Nothing reads across tables in a way that
 * breaks on that; warning_state is rebuilt from warning_events by its materialised view going
 * forward, and a restore loses whatever arrived after the backup in any case.
 *
 * Verification. Every part carries its row count (count.txt); after copying, a child process
 * opens the copy as a store (chDB binds one data directory per process, so not this one) and
 * counts each table, which must equal the sum of its frozen parts' counts. A backup that does not
 * verify is deleted and reported as failed.
 *
 * A hub that stops during a backup stops it at its next file and removes the half copy; a
 * snapshot left by a hub that was killed is removed when the next one starts.
 *
 * One at a time; the daily one at JG_BACKUP_HOUR (China time) unless one was made that day; the
 * oldest beyond JG_BACKUP_KEEP are deleted after a backup succeeds. A ClickHouse server is backed
 * up with the server's own BACKUP (deploy/cluster/README.md): the hub does not reach its disks.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { Backup, BackupList } from '../protocol/index.js';
import { HubError, errorMessage } from '../errors.js';
import { localSecond } from '@jianguan/rules';
import { sql, UNSAFE_RAW_SQL } from '../store/sql.js';
import type { Store } from '../store/store.js';
import { backupSucceeded } from '../telemetry/events.js';
import type { Redis } from 'ioredis';
import { copyRuleStateToFile } from './rule-state-copy.js';

const run = promisify(execFile);

export interface BackupConfig {
  /** The hub's data directory (the store is its `chdb`, evidence its `evidence`). */
  dataDir: string;
  backupDir: string;
  /** -1 = no daily backup. */
  backupHour: number;
  backupKeep: number;
  /** The pseudonym keyring file (keyringFile(config)). */
  keyringFile: string;
  /** The dashboard's evidence directory. @defaultValue <dataDir>/evidence */
  evidenceDir?: string;
  /** Where the rule state is kept (JG_RULE_STATE=local): copied into each backup. Absent = not copied. */
  ruleStateRedis?: { redis: Redis; prefix: string };
}

/** Where a backup's outcome is told: the hub's telemetry events, or the command's output. */
export type BackupLog = (event: 'backup.done' | 'backup.failed' | 'backup.pruned', fields: Record<string, unknown>, msg: string) => void;

const NAME = /^jianguan-\d{8}-\d{6}$/;

/** jianguan-YYYYMMDD-HHMMSS in China time. */
export function backupName(at: number): string {
  return `jianguan-${localSecond(at).replace(/[-: ]/g, '').replace(/^(\d{8})/, '$1-')}`;
}

export class StoreBackups {
  private current: Backup | null = null;
  private lastFailure: Backup | null = null;
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<Backup> | null = null;
  private closing = false;
  private readonly evidenceDir: string;

  constructor(
    private readonly store: Store,
    private readonly config: BackupConfig,
    private readonly log: BackupLog,
  ) {
    this.evidenceDir = config.evidenceDir ?? path.join(config.dataDir, 'evidence');
    if (!this.supported) return;
    backupSucceeded(this.finished()[0]?.startedAt ?? 0);
    // Snapshots of backups a stopped hub never finished: hard links that would keep every part
    // they name on disk, merged away or not, for good.
    const shadows = path.join(config.dataDir, 'chdb', 'shadow');
    void fs.promises
      .readdir(shadows)
      .then((names) => Promise.all(names.filter((n) => /^jianguan_\d{8}_\d{6}$/.test(n)).map((n) => fs.promises.rm(path.join(shadows, n), { recursive: true, force: true }))))
      .catch(() => undefined);
  }

  get supported(): boolean {
    return this.store.driver === 'chdb';
  }

  /** Starts the daily schedule (checked every minute; nothing when JG_BACKUP_HOUR is -1). */
  schedule(): void {
    if (this.config.backupHour < 0 || !this.supported || this.timer) return;
    this.timer = setInterval(() => {
      try {
        if (this.due(Date.now())) this.start('schedule', '');
      } catch (e) {
        // Nothing a timer throws may stop the hub; a refused start is retried the next minute.
        this.log('backup.failed', { trigger: 'schedule', err: errorMessage(e) }, 'the daily backup could not start');
      }
    }, 60_000);
    this.timer.unref();
  }

  /**
   * Whether the daily backup should start at `t`: within JG_BACKUP_HOUR (China time), none
   * running, and no scheduled one made or failed that day (a failure is retried the next day,
   * or at once by hand).
   */
  due(t: number): boolean {
    if (this.config.backupHour < 0 || this.current) return false;
    const local = localSecond(t);
    if (Number(local.slice(11, 13)) !== this.config.backupHour) return false;
    const today = `jianguan-${local.slice(0, 10).replace(/-/g, '')}-`;
    const made = [...this.finished(), ...(this.lastFailure ? [this.lastFailure] : [])];
    return !made.some((b) => b.name.startsWith(today) && b.trigger === 'schedule');
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** Stops the schedule and a running backup (at its next file), and waits until it has cleaned up. */
  async close(): Promise<void> {
    this.stop();
    this.closing = true;
    await this.running;
  }

  list(): BackupList {
    const items = [...(this.current ? [this.current] : []), ...this.finished()];
    if (this.lastFailure && !items.some((b) => b.name === this.lastFailure!.name)) items.push(this.lastFailure);
    items.sort((a, b) => b.startedAt - a.startedAt);
    return { dir: this.config.backupDir, hour: this.config.backupHour < 0 ? null : this.config.backupHour, keep: this.config.backupKeep, supported: this.supported, items };
  }

  /**
   * Begins a backup: `first` is its state now, `done` settles when it has finished (or failed:
   * then its state says why, and the directory is gone). Never rejects.
   */
  start(trigger: Backup['trigger'], by: string): { first: Backup; done: Promise<Backup> } {
    if (!this.supported) throw new HubError('BACKUP_UNSUPPORTED', 'the store is a ClickHouse server');
    if (this.current) throw new HubError('BACKUP_RUNNING', `${this.current.name} started ${localSecond(this.current.startedAt)}`);
    if (this.closing) throw new HubError('BUSY', 'the hub is stopping');
    const startedAt = Date.now();
    const b: Backup = {
      name: backupName(startedAt),
      state: 'running',
      phase: 'snapshot',
      trigger,
      by,
      startedAt,
      finishedAt: null,
      bytesDone: 0,
      bytesTotal: 0,
      tables: [],
      verified: false,
      evidenceFiles: 0,
      keyring: false,
      ruleState: null,
      error: '',
    };
    this.current = b;
    const done = this.make(b).then(
      () => {
        Object.assign(b, { state: 'done', phase: 'done', finishedAt: Date.now() });
        this.log('backup.done', { name: b.name, bytes: b.bytesTotal, ms: b.finishedAt! - b.startedAt, tables: b.tables.length }, `backup ${b.name} written`);
        this.prune();
        backupSucceeded(this.finished()[0]?.startedAt ?? b.startedAt);
        return { ...b };
      },
      async (e: unknown) => {
        Object.assign(b, { state: 'failed', finishedAt: Date.now(), error: errorMessage(e), failure: e instanceof BackupFailure ? e.kind : 'failed' });
        this.lastFailure = { ...b };
        this.log('backup.failed', { name: b.name, phase: b.phase, err: errorMessage(e) }, `backup ${b.name} failed`);
        // A part-written copy can be gigabytes: removed without holding the hub thread. A
        // directory that could not be made or reached either leaves nothing to remove.
        await fs.promises.rm(path.join(this.config.backupDir, b.name), { recursive: true, force: true }).catch(() => undefined);
        return { ...b };
      },
    ).finally(() => {
      this.current = null;
      this.running = null;
    });
    this.running = done;
    return { first: { ...b }, done };
  }

  private finished(): Backup[] {
    return finishedBackups(this.config.backupDir);
  }

  private prune(): void {
    for (const old of this.finished().slice(this.config.backupKeep)) {
      fs.rmSync(path.join(this.config.backupDir, old.name), { recursive: true, force: true });
      this.log('backup.pruned', { name: old.name }, `backup ${old.name} deleted (JG_BACKUP_KEEP=${this.config.backupKeep})`);
    }
  }

  private async make(b: Backup): Promise<void> {
    const storeDir = path.join(this.config.dataDir, 'chdb');
    const target = path.join(this.config.backupDir, b.name);
    const freeze = b.name.replace(/-/g, '_');
    const shadow = path.join(storeDir, 'shadow', freeze);
    fs.mkdirSync(this.config.backupDir, { recursive: true });
    // Half copies left by a hub killed during a backup: neither a backup nor anything else.
    for (const n of fs.readdirSync(this.config.backupDir)) {
      if (NAME.test(n) && n !== b.name && !fs.existsSync(path.join(this.config.backupDir, n, 'manifest.json'))) {
        await fs.promises.rm(path.join(this.config.backupDir, n), { recursive: true, force: true });
      }
    }
    fs.mkdirSync(target);
    try {
      // 1. Snapshot: every MergeTree table frozen (hard links, no copy yet).
      // A table's directory is store/<first 3>/<uuid>/ (system.tables shows the uuid as zeros).
      const tables = (
        await this.store.query<{ name: string; dir: string }>(
          sql`SELECT name, data_paths[1] AS dir FROM system.tables WHERE database = currentDatabase() AND engine LIKE '%MergeTree' ORDER BY name`,
        )
      ).map((t) => ({ name: t.name, uuid: path.basename(t.dir) }));
      for (const t of tables) await this.store.command(sql`ALTER TABLE ${UNSAFE_RAW_SQL(`\`${t.name}\``)} FREEZE WITH NAME ${UNSAFE_RAW_SQL(`'${freeze}'`)}`);
      // The rule state of the same moment, give or take the seconds the freezes took.
      if (this.config.ruleStateRedis) {
        const file = path.join(target, 'rule-state.jsonl');
        b.ruleState = await copyRuleStateToFile(this.config.ruleStateRedis.redis, this.config.ruleStateRedis.prefix, file);
      }
      // 2. Copy: the directory layout first (symlinks and definitions), then the parts.
      const files = await listFiles(shadow);
      const parts = new Map<string, { rows: number; bytes: number }>();
      for (const f of files) {
        const rel = path.relative(shadow, f.path).split(path.sep);
        // store/<xxx>/<uuid>/<part>/<file…>
        const uuid = rel[2]!;
        const p = parts.get(uuid) ?? { rows: 0, bytes: 0 };
        p.bytes += f.size;
        if (rel.length === 5 && rel[4] === 'count.txt') p.rows += Number((await fs.promises.readFile(f.path, 'utf8')).trim()) || 0;
        parts.set(uuid, p);
      }
      b.tables = tables.map((t) => ({ name: t.name, rows: parts.get(t.uuid)?.rows ?? 0, bytes: parts.get(t.uuid)?.bytes ?? 0 }));
      b.bytesTotal = files.reduce((s, f) => s + f.size, 0);
      const free = fs.statfsSync(this.config.backupDir);
      if (free.bavail * free.bsize < b.bytesTotal * 1.05 + 64 * 1024 * 1024) {
        throw new BackupFailure('no_space', `not enough space in ${this.config.backupDir}: ${fmtBytes(free.bavail * free.bsize)} free, the backup needs ${fmtBytes(b.bytesTotal)}`);
      }
      b.phase = 'copy';
      const out = path.join(target, 'chdb');
      copyLayout(storeDir, out, new Set(tables.map((t) => t.uuid)));
      for (const f of files) {
        const dest = path.join(out, path.relative(shadow, f.path));
        fs.mkdirSync(path.dirname(dest), { recursive: true });
        if (this.closing) throw new BackupFailure('stopping', 'the hub is stopping');
        await fs.promises.copyFile(f.path, dest, fs.constants.COPYFILE_FICLONE);
        b.bytesDone += f.size;
      }
      // Tables with no parts yet still need their directory.
      for (const t of tables) fs.mkdirSync(path.join(out, 'store', t.uuid.slice(0, 3), t.uuid), { recursive: true });
    } finally {
      // Thousands of hard links: removed without holding the hub thread.
      await fs.promises.rm(shadow, { recursive: true, force: true });
    }
    if (fs.existsSync(this.config.keyringFile)) {
      fs.copyFileSync(this.config.keyringFile, path.join(target, 'pseudonym-keyring.json'));
      fs.chmodSync(path.join(target, 'pseudonym-keyring.json'), 0o600);
      b.keyring = true;
    }
    if (fs.existsSync(this.evidenceDir)) {
      fs.mkdirSync(path.join(target, 'evidence'));
      for (const n of fs.readdirSync(this.evidenceDir)) {
        // Content-addressed files only (uploads in progress are temporary names).
        if (!/^[0-9a-f]{64}$/.test(n)) continue;
        await fs.promises.copyFile(path.join(this.evidenceDir, n), path.join(target, 'evidence', n), fs.constants.COPYFILE_FICLONE);
        b.evidenceFiles++;
      }
    }
    // 3. Verify: the copy opened as a store, every table counted.
    if (this.closing) throw new BackupFailure('stopping', 'the hub is stopping');
    b.phase = 'verify';
    await verifyCopy(path.join(target, 'chdb'), b.tables, 'the copy');
    b.verified = true;
    fs.writeFileSync(path.join(target, 'manifest.json'), `${JSON.stringify({ ...b, state: 'done', phase: 'done', finishedAt: Date.now() }, null, 2)}\n`);
  }
}

/** A failure the screen can name (Backup.failure). */
class BackupFailure extends Error {
  constructor(
    readonly kind: NonNullable<Backup['failure']>,
    message: string,
  ) {
    super(message);
  }
}

/** Finished backups in `dir` (those with a manifest), newest first. */
export function finishedBackups(dir: string): Backup[] {
  let names: string[];
  try {
    names = fs.readdirSync(dir).filter((n) => NAME.test(n));
  } catch {
    return [];
  }
  const out: Backup[] = [];
  for (const n of names) {
    try {
      out.push(JSON.parse(fs.readFileSync(path.join(dir, n, 'manifest.json'), 'utf8')) as Backup);
    } catch {
      // Unfinished (no manifest yet, or the hub stopped during it): not a backup.
    }
  }
  return out.sort((a, b) => b.startedAt - a.startedAt);
}

/**
 * Opens the store at `dir` in a child process and counts `tables` against the rows they should
 * have; throws (not_verified) naming every table that differs or the store that would not open.
 */
export async function verifyCopy(dir: string, tables: readonly { name: string; rows: number }[], what: string): Promise<void> {
  const counted = await countTables(dir, tables.map((t) => t.name)).catch((e: unknown) => {
    throw new BackupFailure('not_verified', `${what} could not be opened: ${errorMessage(e)}`);
  });
  const wrong = tables.filter((t) => counted[t.name] !== t.rows);
  if (wrong.length) throw new BackupFailure('not_verified', `${what} does not read back: ${wrong.map((t) => `${t.name} ${counted[t.name] ?? 'missing'} rows, ${t.rows} expected`).join('; ')}`);
}

interface FileEntry {
  path: string;
  size: number;
}

/**
 * Every file under `dir` with its size. Asynchronous, a few at a time: a year's store holds tens
 * of thousands of part files, and the hub thread also answers holds while this runs.
 */
async function listFiles(dir: string): Promise<FileEntry[]> {
  if (!fs.existsSync(dir)) return [];
  const entries = (await fs.promises.readdir(dir, { withFileTypes: true, recursive: true })).filter((e) => e.isFile());
  const out: FileEntry[] = [];
  for (let i = 0; i < entries.length; i += 64) {
    const slice = entries.slice(i, i + 64).map((e) => path.join(e.parentPath, e.name));
    const sizes = await Promise.all(slice.map(async (p) => (await fs.promises.stat(p)).size));
    slice.forEach((p, k) => out.push({ path: p, size: sizes[k]! }));
  }
  return out;
}

/**
 * The store's directory layout without table data: metadata/ and data/ (relative symlinks, kept
 * as they are), each database's table definitions, and each table's format_version.txt.
 */
function copyLayout(storeDir: string, out: string, tables: ReadonlySet<string>): void {
  for (const top of ['metadata', 'data']) {
    const from = path.join(storeDir, top);
    if (fs.existsSync(from)) fs.cpSync(from, path.join(out, top), { recursive: true, verbatimSymlinks: true });
  }
  const store = path.join(storeDir, 'store');
  for (const prefix of fs.readdirSync(store)) {
    for (const uuid of fs.readdirSync(path.join(store, prefix))) {
      const dir = path.join(store, prefix, uuid);
      const dest = path.join(out, 'store', prefix, uuid);
      if (tables.has(uuid)) {
        fs.mkdirSync(path.join(dest, 'detached'), { recursive: true });
        const fv = path.join(dir, 'format_version.txt');
        if (fs.existsSync(fv)) fs.copyFileSync(fv, path.join(dest, 'format_version.txt'));
        continue;
      }
      // A database directory: its table definitions (.sql), nothing else.
      const sqls = fs.readdirSync(dir).filter((n) => n.endsWith('.sql'));
      if (!sqls.length) continue;
      fs.mkdirSync(dest, { recursive: true });
      for (const n of sqls) fs.copyFileSync(path.join(dir, n), path.join(dest, n));
    }
  }
}

/** Row counts of `tables` in the store at `dir`, read by a child process (see the design note). */
export async function countTables(dir: string, tables: readonly string[]): Promise<Record<string, number>> {
  const { stdout } = await run(process.execPath, [fileURLToPath(verifierUrl()), dir, ...tables], { maxBuffer: 1024 * 1024, timeout: 10 * 60_000 });
  return JSON.parse(stdout) as Record<string, number>;
}

/** The verifier's compiled file: next to this one, or in dist/ when this runs from source (tests). */
function verifierUrl(): URL {
  const here = import.meta.url;
  return here.endsWith('.ts') ? new URL('../../dist/backup/count-tables.js', here) : new URL('./count-tables.js', here);
}

function fmtBytes(n: number): string {
  return n >= 1024 ** 3 ? `${(n / 1024 ** 3).toFixed(1)} GiB` : `${(n / 1024 ** 2).toFixed(0)} MiB`;
}
