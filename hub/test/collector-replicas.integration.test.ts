/**
 * Two hub replicas over one store and one Redis prefix, as in the cluster layout: a collector
 * enrolled through one is listed by the other, approved on that other it is no longer held where
 * it is connected, and revoked anywhere it is cut off everywhere — each replica keeps the
 * collector records in memory and reads them again when another announces a change.
 */
import { io as connect, type Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Hub } from '../src/app.js';
import { keyAuth, newKey } from './collector-signing.js';
import { startTestHub } from './helpers.js';

const INSTITUTION = 'JCJ-JYZ';
let a: Hub;
let b: Hub;
const sockets: Socket[] = [];

beforeAll(async () => {
  const first = await startTestHub();
  a = first.hub;
  ({ hub: b } = await startTestHub({ dataDir: first.dataDir, queuePrefix: a.config.queuePrefix }));
});

afterAll(async () => {
  for (const s of sockets) s.close();
  await b?.close();
  await a?.close();
});

async function until(cond: () => boolean, what: string): Promise<void> {
  const end = Date.now() + 10_000;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function hello(hub: Hub, auth: Record<string, unknown>): Promise<{ socket: Socket; status?: string }> {
  const socket = connect(`${hub.url}/collect`, { auth, transports: ['websocket'], reconnection: false, forceNew: true });
  sockets.push(socket);
  return new Promise((resolve, reject) => {
    socket.once('hub.hello', (h: { status?: string }) => resolve({ socket, ...(h.status !== undefined ? { status: h.status } : {}) }));
    socket.once('connect_error', (e: Error & { data?: { code?: string } }) => reject(Object.assign(new Error(e.message), { code: e.data?.code })));
  });
}

describe('collector records across replicas', () => {
  it('enrolled on one, approved on the other, revoked on the first: every replica follows', async () => {
    const id = 'c-replica-01';
    const key = newKey();
    const { socket, status } = await hello(b, keyAuth(id, key, { enrol: { institutionId: INSTITUTION, counter: '查验线3' } }));
    expect(status).toBe('pending');
    expect(b.collectors.get(id)?.status).toBe('pending');
    // Listed by the other replica (the administrator's request may land there).
    await until(() => a.collectors.get(id)?.status === 'pending', 'the enrolment known to the other replica');
    expect((await a.collectors.list()).some((c) => c.collectorId === id && c.status === 'pending')).toBe(true);

    await a.collectors.approve(id, 'admin');
    await until(() => b.collectors.get(id)?.status === 'approved', 'the approval known where the collector is connected');

    const gone = new Promise<string>((resolve) => socket.once('disconnect', (reason: string) => resolve(reason)));
    await a.collectors.revoke(id, '终端丢失', 'admin');
    await until(() => b.collectors.get(id)?.status === 'revoked', 'the revocation known to the other replica');
    // Cut off where it was connected, and refused there from now on.
    expect(await gone).toBeTruthy();
    await expect(hello(b, keyAuth(id, key))).rejects.toMatchObject({ code: 'COLLECTOR_REVOKED' });
  });
});
