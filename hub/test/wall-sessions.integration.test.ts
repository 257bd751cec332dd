/**
 * A logged-in wall screen while its connection stays open (auth/plugin.ts protectWallNamespace):
 * once its session ends — logout, a disabled user, a changed role, scope or password — the screen
 * is disconnected at the next check; a screen whose session lives on stays, and the check does not
 * renew the session it reads. Real socket.io and real Redis.
 */
import crypto from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Redis } from 'ioredis';
import { Server } from 'socket.io';
import { io as connect, type Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { protectWallNamespace } from '../src/auth/plugin.js';
import type { KioskTokens } from '../src/auth/kiosk.js';
import { SessionStore } from '../src/auth/sessions.js';
import { testRedisUrl } from './helpers.js';

let redis: Redis;
let server: http.Server;
let io: Server;
let guard: ReturnType<typeof protectWallNamespace>;
let sessions: SessionStore;
let url = '';
const prefix = `jgt-${crypto.randomBytes(4).toString('hex')}`;
const clients: Socket[] = [];

beforeAll(async () => {
  redis = new Redis(testRedisUrl());
  sessions = new SessionStore(redis, prefix, 3600, 7200);
  server = http.createServer();
  io = new Server(server);
  // No kiosk tokens here: a screen of a logged-in user only.
  const kiosk = { resolve: async () => undefined } as unknown as KioskTokens;
  guard = protectWallNamespace(io, '/wall', { sessions, kiosk, perAddress: 10, sessionCheckMs: 200 });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  for (const c of clients) c.close();
  guard?.close();
  await new Promise<void>((resolve) => io.close(() => resolve()));
  redis?.disconnect();
});

async function screen(token: string): Promise<{ socket: Socket; closedBy: Promise<string> }> {
  const socket = connect(`${url}/wall`, { auth: { token }, transports: ['websocket'], reconnection: false, forceNew: true });
  clients.push(socket);
  const closedBy = new Promise<string>((resolve) => socket.on('disconnect', (reason) => resolve(reason)));
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('connect_error', reject);
  });
  return { socket, closedBy };
}

const user = (name: string) => ({ userId: name, username: name, displayName: name, roles: ['leader' as const], scope: null, institutions: [] });

describe('a logged-in wall screen', () => {
  it('is disconnected once its session ends; another screen whose session lives on stays', async () => {
    const ended = await sessions.create(user('leader-a'));
    const lives = await sessions.create(user('leader-b'));
    const a = await screen(ended.token);
    const b = await screen(lives.token);
    await sessions.destroyAllOf('leader-a');
    expect(await a.closedBy).toBe('io server disconnect');
    // Several checks later the other screen is still there.
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect(b.socket.connected).toBe(true);
  });

  it('reads a session without renewing it', async () => {
    const s = await sessions.create(user('leader-c'));
    const key = `${prefix}:sess:${s.principal.sessionId}`;
    await redis.pexpire(key, 60_000);
    expect(await sessions.live([s.principal.sessionId, 'no-such-session'])).toEqual(new Set([s.principal.sessionId]));
    expect(await redis.pttl(key)).toBeLessThanOrEqual(60_000);
  });
});
