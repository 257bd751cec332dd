/**
 * The wall broadcaster's shutdown (hub/src/live/wall.ts close()): a statistics round in progress
 * is waited for, so the store — closed after the services — never sees its remaining statements.
 * A real socket.io server and screen socket, and embedded ClickHouse behind a gate that holds the
 * round's statements until the test lets them go.
 */
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { FastifyBaseLogger } from 'fastify';
import { Server } from 'socket.io';
import { io as connect } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import { WallBroadcaster } from '../src/live/wall.js';
import { Registry } from '../src/registry/registry.js';
import { migrate } from '../src/store/migrate.js';
import { openStore, type Store } from '../src/store/store.js';

let store: Store;
let server: http.Server;
let io: Server;

beforeAll(async () => {
  store = await openStore(loadConfig({}, { dataDir: fs.mkdtempSync(path.join(os.tmpdir(), 'jg-wall-close-')) }));
  await migrate(store);
  server = http.createServer();
  io = new Server(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
});

afterAll(async () => {
  await io?.close();
  await store?.close().catch(() => undefined);
});

/** Every event the broadcaster logs, by name. */
function capturingLog(events: string[]): FastifyBaseLogger {
  const record = (line: unknown) => {
    const name = (line as { event?: unknown } | undefined)?.event;
    if (typeof name === 'string') events.push(name);
  };
  const log = { level: 'info', trace: record, debug: record, info: record, warn: record, error: record, fatal: record, silent: () => undefined, child: () => log };
  return log as unknown as FastifyBaseLogger;
}

describe('wall broadcaster shutdown', () => {
  it('waits for a statistics round in progress before the store closes, and starts no statement after', async () => {
    // The round's statements wait at this gate once it is shut; `started` counts them.
    let shut = false;
    let open!: () => void;
    const opened = new Promise<void>((resolve) => (open = resolve));
    let started = 0;
    let afterStoreClosed = 0;
    let storeClosed = false;
    const gated: Store = {
      ...store,
      query: async (q) => {
        if (shut) {
          started += 1;
          await opened;
        }
        if (storeClosed) afterStoreClosed += 1;
        return store.query(q);
      },
    };
    const events: string[] = [];
    const wall = new WallBroadcaster(io, {
      store: gated,
      registry: new Registry(store),
      log: capturingLog(events),
      flushMs: 20,
      // No timer rounds: the test starts the one round itself.
      statsIntervalMs: 3_600_000,
      collectorsConnected: () => 0,
      collectorsConnectedIn: () => 0,
    });
    const screen = connect(`http://127.0.0.1:${(server.address() as AddressInfo).port}/wall`, { transports: ['websocket'], forceNew: true });
    try {
      // The screen's snapshot first (it reads the store too), then the gate shuts.
      await new Promise<void>((resolve, reject) => {
        screen.once('wall.snapshot', () => resolve());
        screen.once('connect_error', reject);
      });
      shut = true;
      const round = (wall as unknown as { pushStats(): Promise<void> }).pushStats();
      await expect.poll(() => started).toBeGreaterThan(0);

      let closed = false;
      const closing = Promise.resolve(wall.close()).then(() => (closed = true));
      await new Promise((r) => setTimeout(r, 150));
      expect(closed, 'close() returned while the round was still reading').toBe(false);

      open();
      await closing;
      // As the app does: the store closes once the services have.
      storeClosed = true;
      await store.close();
      await round;
      await new Promise((r) => setTimeout(r, 100));
      expect(afterStoreClosed).toBe(0);
      expect(events).not.toContain('wall.stats_failed');
      // The round did run: its statements went through the gate.
      expect(started).toBeGreaterThanOrEqual(5);
    } finally {
      screen.close();
    }
  });
});
