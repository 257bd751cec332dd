/**
 * Test helpers: temporary directories and a real in-test socket.io hub on the /collect namespace
 * that stores records by id (like the real hub's dedup key) and can misbehave on demand.
 */
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Server, type Socket } from 'socket.io';
import { NAMESPACE_COLLECT, type Batch, type BatchAck } from '@jianguan/protocol';
import { BatchChain, loadOrCreateIdentity } from '../src/identity/index.js';
import { Link, type LinkCounters, type LinkEvent } from '../src/link/link.js';
import type { Outbox } from '../src/outbox/outbox.js';

const dirs: string[] = [];

export function tmpDir(prefix = 'jg-collector-'): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  dirs.push(d);
  return d;
}

/**
 * Removes a test directory. Retried: the engine (or an outbox) may still be closing files in it
 * when a test ends, and a single attempt then fails with ENOTEMPTY.
 */
/** Bytes of every file under `dir`: what the outbox and its state files take of a simulated disk. */
export function usedBytes(dir: string): number {
  let n = 0;
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) n += usedBytes(p);
    else if (e.isFile()) n += fs.statSync(p).size;
  }
  return n;
}

export function removeDir(dir: string): void {
  fs.rmSync(dir, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 });
}

export function cleanupTmpDirs(): void {
  for (const d of dirs.splice(0)) removeDir(d);
}

export const TOKEN = 'test-token-0123456789abcdef';
export const PSEUDONYM_KEY = 'test-pseudonym-key-0123456789';

/** What the test hub does with one submission. */
export type HubBehaviour = (batch: Batch, socket: Socket, nth: number) => BatchAck | 'drop' | 'disconnect' | Promise<BatchAck | 'drop' | 'disconnect'>;

export interface TestHub {
  readonly url: string;
  readonly port: number;
  /** Every submission in arrival order (re-sends included). */
  readonly submissions: Batch[];
  /** Stored records by id (first copy wins), and ids in the order first stored. */
  readonly stored: Map<string, unknown>;
  readonly order: string[];
  /** Number of times a record id arrived again after it was stored. */
  duplicates: number;
  /** Submissions whose records came as bytes (recordsJson), kept as they arrived. */
  readonly recordsJson: Uint8Array[];
  behaviour: HubBehaviour;
  /** Accept this token (set to change what the auth middleware wants). */
  token: string;
  authFailures: number;
  connections: number;
  close(): Promise<void>;
  /** Closes everything and listens again on the same port after `downMs`. */
  restart(downMs?: number): Promise<void>;
}

export const ackAll: HubBehaviour = (batch) => ({ ok: true, batchId: batch.batchId, stored: batch.records.length, rejected: [], warnings: 0 });

export async function startTestHub(options: { port?: number; behaviour?: HubBehaviour; token?: string; recordsJson?: boolean } = {}): Promise<TestHub> {
  let httpServer: http.Server;
  let io: Server;
  let nth = 0;

  const hub: TestHub = {
    url: '',
    port: 0,
    submissions: [],
    stored: new Map(),
    order: [],
    duplicates: 0,
    recordsJson: [],
    behaviour: options.behaviour ?? ackAll,
    token: options.token ?? TOKEN,
    authFailures: 0,
    connections: 0,
    close: async () => {
      io.disconnectSockets(true);
      await new Promise<void>((resolve) => io.close(() => resolve()));
      // io.close() closes the http server too; make sure it is gone.
      await new Promise<void>((resolve) => (httpServer.listening ? httpServer.close(() => resolve()) : resolve()));
    },
    restart: async (downMs = 300) => {
      await hub.close();
      await new Promise((r) => setTimeout(r, downMs));
      await listen(hub.port);
    },
  };

  const listen = async (port: number): Promise<void> => {
    httpServer = http.createServer();
    io = new Server(httpServer, { transports: ['websocket'] });
    const nsp = io.of(NAMESPACE_COLLECT);
    nsp.use((socket, next) => {
      const auth = socket.handshake.auth as { collectorId?: string; token?: string };
      if (auth.token !== hub.token) {
        hub.authFailures += 1;
        const err = new Error('AUTH_FAILED: unknown collector or wrong token') as Error & { data?: unknown };
        err.data = { code: 'AUTH_FAILED' };
        next(err);
        return;
      }
      socket.data.collectorId = auth.collectorId;
      next();
    });
    nsp.on('connection', (socket) => {
      hub.connections += 1;
      socket.emit('hub.hello', { hubVersion: 'test', protocol: 1, collectorId: socket.data.collectorId, institutionId: 'x', ...(options.recordsJson ? { recordsJson: true } : {}) });
      socket.on('batch.submit', async (wire: Batch & { recordsJson?: Uint8Array }, ack: (res: BatchAck) => void) => {
        nth += 1;
        // Records as bytes (only sent to a hub whose hello offers it): kept, and read as the hub does.
        let batch: Batch = wire;
        if (wire.recordsJson !== undefined) {
          hub.recordsJson.push(wire.recordsJson);
          const { recordsJson, ...envelope } = wire;
          batch = { ...envelope, records: JSON.parse(Buffer.from(recordsJson).toString('utf8')) as unknown[] };
        }
        hub.submissions.push(batch);
        const res = await hub.behaviour(batch, socket, nth);
        if (res === 'drop') return;
        if (res === 'disconnect') {
          socket.disconnect(true);
          return;
        }
        if (res.ok) {
          for (const r of batch.records) {
            const id = (r as { id: string }).id;
            if (hub.stored.has(id)) hub.duplicates += 1;
            else {
              hub.stored.set(id, r);
              hub.order.push(id);
            }
          }
        }
        ack(res);
      });
    });
    await new Promise<void>((resolve, reject) => {
      httpServer.once('error', reject);
      httpServer.listen(port, '127.0.0.1', () => resolve());
    });
    const addr = httpServer.address() as AddressInfo;
    (hub as { port: number }).port = addr.port;
    (hub as { url: string }).url = `http://127.0.0.1:${addr.port}`;
  };

  await listen(options.port ?? 0);
  return hub;
}

/** Polls `cond` every 20 ms until true or `timeoutMs` passes (then throws with `what`). */
export async function waitFor(cond: () => boolean | Promise<boolean>, timeoutMs = 10_000, what = 'condition'): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > until) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** A free TCP port (listen on 0, close). */
export async function freePort(): Promise<number> {
  const s = http.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/** Epoch ms of a local (UTC+8) wall-clock time. */
export function cst(y: number, m: number, d: number, hh = 0, mm = 0, ss = 0): number {
  return Date.UTC(y, m - 1, d, hh, mm, ss) - 8 * 3_600_000;
}

/**
 * A Link shipping `outbox` (in `dir`, its identity and batch chain beside it) to `hubUrl` with the
 * test token, its events collected. Not started.
 */
export async function chainedLink(
  dir: string,
  outbox: Outbox,
  hubUrl: string,
  o: { collectorId: string; maxRecords?: number; ackTimeoutMs?: number; backoff?: { minMs: number; maxMs: number } },
): Promise<{ link: Link; events: LinkEvent[]; counters: LinkCounters }> {
  const identity = await loadOrCreateIdentity(dir);
  const chain = await BatchChain.open(dir, { collectorId: o.collectorId, identity, fsync: false });
  const events: LinkEvent[] = [];
  const counters: LinkCounters = { sent: 0, acked: 0, rejected: 0, batchesSent: 0, batchesAcked: 0, batchFailures: 0, lastAckAt: null };
  const link = new Link({
    collectorId: o.collectorId,
    token: TOKEN,
    identity,
    chain,
    hubUrl,
    batch: { maxRecords: o.maxRecords ?? 10, maxBytes: 512 * 1024, lingerMs: 5 },
    ackTimeoutMs: o.ackTimeoutMs ?? 2_000,
    backoff: o.backoff ?? { minMs: 20, maxMs: 200 },
    outbox,
    counters,
    emit: (e) => events.push(e),
  });
  return { link, events, counters };
}
