/**
 * Several hub replicas share one wall: a warning evaluated by one replica reaches a screen
 * connected to another, through the socket.io Redis adapter on real Redis. The other replica is
 * a bare socket.io server joined to the same adapter key — all of a replica that the fan-out
 * involves; county statistics stay per replica.
 */
import http from 'node:http';
import { createAdapter } from '@socket.io/redis-adapter';
import { Redis } from 'ioredis';
import { Server } from 'socket.io';
import { io as connect, type Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Hub } from '../src/app.js';
import { viewerScope, wallRoom } from '../src/live/wall.js';
import type { BatchAck, WallWarning } from '../src/protocol/index.js';
import { checkTxn, startTestHub, TEST_COLLECTOR, testRedisUrl, unsignedBatch } from './helpers.js';

const PREFIX = `jgt-io-${process.pid}-${Date.now().toString(36)}`;
let hub: Hub;
let other: { io: Server; server: http.Server; url: string; redis: Redis[] };
const sockets: Socket[] = [];

beforeAll(async () => {
  ({ hub } = await startTestHub({ queuePrefix: PREFIX, statsIntervalMs: 100 }));
  const server = http.createServer();
  const redis = [new Redis(testRedisUrl()), new Redis(testRedisUrl())];
  const io = new Server(server, { serveClient: false });
  io.adapter(createAdapter(redis[0]!, redis[1]!, { key: `${PREFIX}:io` }));
  // What a replica's broadcaster does with each screen: put it in its scope's room (the city here),
  // the address live warnings are published to across replicas.
  io.of('/wall').on('connection', (socket) => void socket.join(wallRoom(viewerScope(socket.data))));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  other = { io, server, url: `http://127.0.0.1:${port}`, redis };
});

afterAll(async () => {
  for (const s of sockets) s.close();
  await hub?.close();
  if (other) {
    other.io.close();
    for (const r of other.redis) r.disconnect();
  }
});

describe('wall fan-out across replicas', () => {
  it('a screen on another replica receives the warnings this replica raises, once', async () => {
    const screen = connect(`${other.url}/wall`, { transports: ['websocket'], forceNew: true });
    sockets.push(screen);
    await new Promise<void>((resolve, reject) => (screen.once('connect', () => resolve()), screen.once('connect_error', reject)));
    const received: WallWarning[] = [];
    const stats: unknown[] = [];
    screen.on('warning.raised', (batch: WallWarning[]) => received.push(...batch));
    screen.on('county.stats', (s: unknown) => stats.push(s));
    // A screen on this replica too, so that this replica computes and pushes its statistics.
    const local = connect(`${hub.url}/wall`, { transports: ['websocket'], forceNew: true });
    sockets.push(local);
    const localStats: unknown[] = [];
    const localWarnings: WallWarning[] = [];
    local.on('county.stats', (s: unknown) => localStats.push(s));
    local.on('warning.raised', (batch: WallWarning[]) => localWarnings.push(...batch));
    await new Promise<void>((resolve, reject) => (local.once('connect', () => resolve()), local.once('connect_error', reject)));
    // Subscriptions travel to Redis asynchronously; give the adapter a moment before publishing.
    await new Promise((r) => setTimeout(r, 300));

    const collector = connect(`${hub.url}/collect`, { auth: { collectorId: TEST_COLLECTOR.collectorId, token: TEST_COLLECTOR.token }, transports: ['websocket'], reconnection: false, forceNew: true });
    sockets.push(collector);
    await new Promise<void>((resolve, reject) => (collector.once('connect', () => resolve()), collector.once('connect_error', reject)));
    // An unfiled inspector: check.inspector_unfiled fires on this record.
    const txn = checkTxn(1, { staffId: 'JCJ-JYZ-NOBODY' });
    const ack: BatchAck = await collector.timeout(30_000).emitWithAck('batch.submit', unsignedBatch([txn], 1));
    expect(ack.ok, JSON.stringify(ack)).toBe(true);
    await expect.poll(() => received.filter((w) => w.transactionId === txn.id).map((w) => w.ruleId), { timeout: 10_000 }).toContain('check.inspector_unfiled');
    // Wait past a few flushes: nothing arrives twice.
    await new Promise((r) => setTimeout(r, 500));
    const ids = received.map((w) => w.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(localWarnings.map((w) => w.id).sort()).toEqual([...ids].sort());
    // Statistics are each replica's own business: this replica's screen has them, none cross over.
    await expect.poll(() => localStats.length, { timeout: 5_000 }).toBeGreaterThan(0);
    expect(stats).toEqual([]);
  });
});
