/**
 * Where table imports and exports run, and how many may run at once.
 *
 * Design note. Parsing an XLSX (exceljs), building one and parsing CSV are CPU-bound and, for a
 * hostile or merely large file, long: a warnings XLSX took ~9 s and a 6,000-row import 12 s of
 * event-loop time, during which the hub answered nothing — not collectors, not the wall, not
 * /healthz. We move that work to a worker thread rather than making it yield in slices:
 *
 *  - exceljs's loader and writer are third-party code we cannot slice ourselves; a worker keeps
 *    the event loop's longest block to our own short, chunked steps (posting rows in and out),
 *    whatever exceljs does;
 *  - the worker runs with V8 heap limits (`resourceLimits`): a file that still manages to blow
 *    up memory kills the worker, which is replaced on the next job, not the hub;
 *  - on a multi-core host it is real parallelism.
 *
 * The pool is small (JG_TABLE_WORKERS, default 1), started on first use and terminated when the
 * hub closes. Jobs are admitted by a gate: at most JG_TABLE_JOBS_PER_USER per user and
 * JG_TABLE_JOBS_TOTAL for the hub; the next one is refused with TOO_MANY_JOBS (429), not queued,
 * so a burst of uploads cannot pile up memory behind the worker.
 *
 * Under vitest this module is loaded from its TypeScript source, which a Node 20 worker cannot
 * run; the worker then starts from the compiled file in dist/ (built before tests).
 */
import { setImmediate as nextTurn } from 'node:timers/promises';
import { Worker } from 'node:worker_threads';
import type { FastifyInstance } from 'fastify';
import { HubError, type ErrorCode, ERRORS } from '../errors.js';
import type { HubConfig } from '../config.js';
import { HubConfigSchema } from '../config.js';
import { tableLimitsOf, type ImportLimits, type TableLimits } from './limits.js';
import type { XlsxCell, XlsxColumn } from './table-codec.js';
import type { CsvEncoding } from '../protocol/index.js';

/** Heap of one table worker. Generous for a 50,000-row sheet, small next to the host. */
const WORKER_HEAP_MB = 768;
/** Rows per message to the worker when exporting. */
const POST_CHUNK = 1_000;

type Done = { rows?: number; encoding?: CsvEncoding; data?: Uint8Array };
type Reply = { id: number; kind: 'rows'; rows: string[][] } | ({ id: number; kind: 'done' } & Done) | { id: number; kind: 'error'; code?: string; message: string };

interface Pending {
  onRows?: (rows: string[][]) => void;
  resolve: (r: Done) => void;
  reject: (e: unknown) => void;
  /** What a worker crash means for this task (an import or an export that was too much). */
  crashCode: ErrorCode;
}

class Slot {
  readonly pending = new Map<number, Pending>();
  readonly worker: Worker;
  dead = false;

  constructor(url: URL, onExit: (slot: Slot) => void) {
    this.worker = new Worker(url, { resourceLimits: { maxOldGenerationSizeMb: WORKER_HEAP_MB } });
    this.worker.unref();
    this.worker.on('message', (m: Reply) => {
      const p = this.pending.get(m.id);
      if (!p) return;
      if (m.kind === 'rows') p.onRows?.(m.rows);
      else {
        this.pending.delete(m.id);
        this.refresh();
        if (m.kind === 'done') p.resolve(m);
        else p.reject(rebuildError(m.code, m.message));
      }
    });
    const die = (err: unknown) => {
      if (this.dead) return;
      this.dead = true;
      onExit(this);
      const oom = (err as { code?: string } | undefined)?.code === 'ERR_WORKER_OUT_OF_MEMORY';
      for (const p of this.pending.values()) {
        p.reject(oom ? new HubError(p.crashCode, 'the file needed more memory than a table job may use') : new Error(`table worker stopped: ${err instanceof Error ? err.message : String(err)}`));
      }
      this.pending.clear();
    };
    this.worker.on('error', die);
    this.worker.on('exit', (code) => die(new Error(`exit code ${code}`)));
  }

  /** Keeps the process alive only while a task is in flight. */
  refresh(): void {
    if (this.pending.size) this.worker.ref();
    else this.worker.unref();
  }
}

export class TableJobs {
  readonly limits: TableLimits;
  private readonly slots: Slot[] = [];
  private readonly perUser = new Map<string, number>();
  private total = 0;
  private nextId = 1;
  private closed = false;

  constructor(limits: TableLimits) {
    this.limits = limits;
  }

  /**
   * Admits one job for `userId` or throws TOO_MANY_JOBS. The returned release is idempotent;
   * call it when the job's response is done.
   */
  admit(userId: string): () => void {
    if (this.closed) throw new HubError('TOO_MANY_JOBS', 'the hub is shutting down');
    const mine = this.perUser.get(userId) ?? 0;
    if (mine >= this.limits.jobsPerUser) throw new HubError('TOO_MANY_JOBS', `${mine} of your imports/exports are in progress, limit ${this.limits.jobsPerUser} per user`);
    if (this.total >= this.limits.jobsTotal) throw new HubError('TOO_MANY_JOBS', `${this.total} imports/exports are in progress, limit ${this.limits.jobsTotal} for the hub`);
    this.perUser.set(userId, mine + 1);
    this.total++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.total--;
      const n = (this.perUser.get(userId) ?? 1) - 1;
      if (n > 0) this.perUser.set(userId, n);
      else this.perUser.delete(userId);
    };
  }

  /** Jobs in flight (tests, telemetry). */
  inFlight(): number {
    return this.total;
  }

  private slot(): Slot {
    if (this.closed) throw new HubError('TOO_MANY_JOBS', 'the hub is shutting down');
    while (this.slots.length < this.limits.workers) {
      this.slots.push(
        new Slot(workerUrl(), (dead) => {
          const i = this.slots.indexOf(dead);
          if (i >= 0) this.slots.splice(i, 1);
        }),
      );
    }
    return this.slots.reduce((a, b) => (b.pending.size < a.pending.size ? b : a));
  }

  private task(slot: Slot, id: number, crashCode: ErrorCode, onRows?: (rows: string[][]) => void): Promise<Done> {
    return new Promise((resolve, reject) => {
      slot.pending.set(id, { resolve, reject, crashCode, ...(onRows ? { onRows } : {}) });
      slot.refresh();
    });
  }

  /**
   * Parses an uploaded CSV or XLSX into rows of cell text (header row first), within the import
   * limits; for a CSV, also the text encoding it was read in (table-codec.ts decodeCsv).
   */
  async readTable(format: 'csv' | 'xlsx', data: Buffer, limits: ImportLimits = this.limits.import): Promise<{ rows: string[][]; encoding: CsvEncoding | null }> {
    if (data.length > limits.maxBytes) throw new HubError('IMPORT_TOO_LARGE', `file is ${data.length} bytes, limit ${limits.maxBytes}`);
    const slot = this.slot();
    const id = this.nextId++;
    const out: string[][] = [];
    // Each chunk arrives as its own message, so deserialising a large table is spread over many
    // turns of the event loop instead of one long one.
    const done = this.task(slot, id, 'IMPORT_TOO_LARGE', (rows) => {
      for (const r of rows) out.push(r);
    });
    slot.worker.postMessage({ id, op: format === 'xlsx' ? 'read-xlsx' : 'read-csv', data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength), limits });
    const { encoding } = await done;
    return { rows: out, encoding: encoding ?? null };
  }

  /** Builds an XLSX from cell rows; the rows are posted in chunks, yielding between them. */
  async buildXlsx(sheetName: string, columns: readonly XlsxColumn[], rows: AsyncIterable<readonly (readonly XlsxCell[])[]>): Promise<Buffer> {
    const slot = this.slot();
    const id = this.nextId++;
    const done = this.task(slot, id, 'EXPORT_TOO_LARGE');
    // A failure reported while rows are still being posted must not go unobserved.
    done.catch(() => undefined);
    slot.worker.postMessage({ id, op: 'write-xlsx', sheetName, columns });
    for await (const chunk of rows) {
      if (!slot.pending.has(id)) break;
      for (let i = 0; i < chunk.length; i += POST_CHUNK) slot.worker.postMessage({ id, op: 'rows', rows: chunk.slice(i, i + POST_CHUNK) });
      await nextTurn();
    }
    slot.worker.postMessage({ id, op: 'end' });
    const r = await done;
    if (!r.data) throw new Error('table worker returned no file');
    return Buffer.from(r.data.buffer, r.data.byteOffset, r.data.byteLength);
  }

  async close(): Promise<void> {
    this.closed = true;
    const slots = this.slots.splice(0);
    await Promise.all(slots.map((s) => s.worker.terminate()));
  }
}

/** The worker's HubError, as the same code and detail on this side. */
function rebuildError(code: string | undefined, message: string): Error {
  if (!code || !(code in ERRORS)) return new Error(message);
  const prefix = `${ERRORS[code as ErrorCode].message}: `;
  return new HubError(code as ErrorCode, message.startsWith(prefix) ? message.slice(prefix.length) : message);
}

function workerUrl(): URL {
  const here = import.meta.url;
  return here.endsWith('.ts') ? new URL('../../dist/exports/table-worker.js', here) : new URL('./table-worker.js', here);
}

const byApp = new WeakMap<FastifyInstance, TableJobs>();

/**
 * Gives `app` its table jobs with the configured limits and terminates the workers when the app
 * closes. Call once, before the routes that import or export tables are registered.
 */
export function installTableJobs(app: FastifyInstance, config: HubConfig): TableJobs {
  if (byApp.has(app)) throw new Error('table jobs are already installed on this app');
  const jobs = new TableJobs(tableLimitsOf(config));
  byApp.set(app, jobs);
  app.addHook('onClose', async () => jobs.close());
  return jobs;
}

/** The app's table jobs; an app that never installed them gets the default limits. */
export function tableJobsOf(app: FastifyInstance): TableJobs {
  return byApp.get(app) ?? installTableJobs(app, HubConfigSchema.parse({}));
}
