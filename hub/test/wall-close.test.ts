/**
 * The wall broadcaster's shutdown (hub/src/live/wall.ts close()): a statistics round or a screen's
 * snapshot in progress is waited for, so the store — closed after the services — never sees their
 * remaining statements, and a screen connecting meanwhile starts no read. A real socket.io server
 * and screen sockets, and embedded ClickHouse behind a gate that holds the statements until the
 * test lets them go.
 */
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { FastifyBaseLogger } from 'fastify';
import { Server } from 'socket.io';
import { io as connect } from 'socket.io-client';
import { describe, expect, it, onTestFinished } from 'vitest';
import { loadConfig } from '../src/config.js';
import { WallBroadcaster } from '../src/live/wall.js';
import { Registry } from '../src/registry/registry.js';
import { migrate } from '../src/store/migrate.js';
import { openStore, type Store } from '../src/store/store.js';

interface Fixture {
  store: Store;
  io: Server;
  port: number;
  close(): Promise<void>;
}

/** A migrated store of its own and a socket.io server for one test. */
async function fixture(): Promise<Fixture> {
  const store = await openStore(loadConfig({}, { dataDir: fs.mkdtempSync(path.join(os.tmpdir(), 'jg-wall-close-')) }));
  await migrate(store);
  const server = http.createServer();
  const io = new Server(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    store,
    io,
    port: (server.address() as AddressInfo).port,
    close: async () => {
      await io.close();
      await store.close().catch(() => undefined);
    },
  };
}

/** The store behind a gate: while shut, each statement counts in `started` and waits for open(). */
function gatedStore(store: Store) {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  const g = {
    shut: false,
    started: 0,
    afterStoreClosed: 0,
    storeClosed: false,
    open,
    store: {
      ...store,
      query: async (q) => {
        if (g.shut) {
          g.started += 1;
          await opened;
        }
        if (g.storeClosed) g.afterStoreClosed += 1;
        return store.query(q);
      },
    } as Store,
  };
  return g;
}

/** Every event the broadcaster logs, by name. */
function capturingLog(events: string[]): FastifyBaseLogger {
  const record = (line: unknown) => {
    const name = (line as { event?: unknown } | undefined)?.event;
    if (typeof name === 'string') events.push(name);
  };
  const log = { level: 'info', trace: record, debug: record, info: record, warn: record, error: record, fatal: record, silent: () => undefined, child: () => log };
  return log as unknown as FastifyBaseLogger;
}

function broadcaster(f: Fixture, store: Store, events: string[]): WallBroadcaster {
  return new WallBroadcaster(f.io, {
    store,
    registry: new Registry(f.store),
    log: capturingLog(events),
    flushMs: 20,
    // No timer rounds: a test starts the round itself.
    statsIntervalMs: 3_600_000,
    collectorsConnected: () => 0,
    collectorsConnectedIn: () => 0,
  });
}

function screenOf(f: Fixture) {
  const screen = connect(`http://127.0.0.1:${f.port}/wall`, { transports: ['websocket'], forceNew: true });
  onTestFinished(() => void screen.close());
  return screen;
}

/** The event `name` on `socket`, or its connect error. */
function next(socket: ReturnType<typeof connect>, name: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    socket.once(name, () => resolve());
    socket.once('connect_error', reject);
  });
}

/**
 * Closes the broadcaster while the gate holds its reads: close() must not return before the gate
 * opens (`what` names the read in the failure); then, as the app does, the store closes.
 */
async function closeWhileGated(wall: WallBroadcaster, g: ReturnType<typeof gatedStore>, f: Fixture, what: string, meanwhile: () => Promise<void> = async () => undefined): Promise<void> {
  let closed = false;
  const closing = Promise.resolve(wall.close()).then(() => (closed = true));
  await meanwhile();
  await new Promise((r) => setTimeout(r, 150));
  expect(closed, `close() returned while ${what} was still reading`).toBe(false);
  g.open();
  await closing;
  g.storeClosed = true;
  await f.store.close();
}

describe('wall broadcaster shutdown', () => {
  it('waits for a statistics round in progress before the store closes, and starts no statement after', async () => {
    const f = await fixture();
    onTestFinished(() => f.close());
    const g = gatedStore(f.store);
    const events: string[] = [];
    const wall = broadcaster(f, g.store, events);
    const screen = screenOf(f);
    // The screen's snapshot first (it reads the store too), then the gate shuts.
    await next(screen, 'wall.snapshot');
    g.shut = true;
    const round = (wall as unknown as { pushStats(): Promise<void> }).pushStats();
    await expect.poll(() => g.started).toBeGreaterThan(0);

    await closeWhileGated(wall, g, f, 'the round');
    await round;
    await new Promise((r) => setTimeout(r, 100));
    expect(g.afterStoreClosed).toBe(0);
    expect(events).not.toContain('wall.stats_failed');
    // The round did run: its statements went through the gate.
    expect(g.started).toBeGreaterThanOrEqual(5);
  });

  it("waits for a screen's snapshot in progress, and reads none for a screen that connects while closing", async () => {
    const f = await fixture();
    onTestFinished(() => f.close());
    const g = gatedStore(f.store);
    const events: string[] = [];
    const wall = broadcaster(f, g.store, events);
    g.shut = true;
    const first = screenOf(f);
    const snapshots: unknown[] = [];
    first.on('wall.snapshot', (s) => snapshots.push(s));
    await expect.poll(() => g.started).toBeGreaterThan(0);

    // A second screen arrives while the hub closes: no snapshot is read for it.
    const secondSnapshots: unknown[] = [];
    await closeWhileGated(wall, g, f, "a screen's snapshot", async () => {
      const second = screenOf(f);
      second.on('wall.snapshot', (s) => secondSnapshots.push(s));
      await next(second, 'connect');
    });
    await new Promise((r) => setTimeout(r, 100));
    expect(g.afterStoreClosed).toBe(0);
    expect(events).not.toContain('wall.snapshot_failed');
    // The first screen's snapshot was read to the end and sent; the second screen got none (not
    // even the first one's, which screens of one scope otherwise share).
    await expect.poll(() => snapshots.length).toBe(1);
    await new Promise((r) => setTimeout(r, 100));
    expect(secondSnapshots).toHaveLength(0);
  });
});

describe("the wall's statistics while the hub takes no batches", () => {
  it('say ingest is down while Redis does not answer, and nothing of it once it does', async () => {
    const f = await fixture();
    onTestFinished(() => f.close());
    let up = false;
    const wall = new WallBroadcaster(f.io, {
      store: f.store,
      registry: new Registry(f.store),
      log: capturingLog([]),
      flushMs: 20,
      statsIntervalMs: 3_600_000,
      collectorsConnected: () => 0,
      collectorsConnectedIn: () => 0,
      ingestUp: () => up,
    });
    onTestFinished(() => wall.close());
    expect((await wall.stats()).kpis.ingestDown).toBe(true);
    up = true;
    expect((await wall.stats()).kpis).not.toHaveProperty('ingestDown');
  });
});
