/**
 * Handshake proofs cannot be replayed, and a flood of enrolments cannot grow the pending list
 * without bound — against a real hub (socket.io, Redis, chDB).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { io as connect, type Socket } from 'socket.io-client';
import type { Hub } from '../src/app.js';
import { canonicalAuthProof } from '../src/protocol/index.js';
import { keyAuth, newKey } from './collector-signing.js';
import { startTestHub } from './helpers.js';

let hub: Hub;
const sockets: Socket[] = [];

/** Connects; resolves with hub.hello's status or the handshake error code. */
function attempt(auth: Record<string, unknown>): Promise<string> {
  const s = connect(`${hub.url}/collect`, { auth, transports: ['websocket'], reconnection: false, forceNew: true });
  sockets.push(s);
  return new Promise((resolve) => {
    s.once('hub.hello', (h: { status?: string }) => resolve(h.status ?? 'approved'));
    s.once('connect_error', (e: Error & { data?: { code?: string } }) => resolve(e.data?.code ?? e.message));
  });
}

beforeAll(async () => {
  ({ hub } = await startTestHub({ enrolMaxPending: 3, enrolMaxPendingPerInstitution: 2 }));
});

afterAll(async () => {
  for (const s of sockets) s.close();
  await hub?.close();
});

describe('handshake proofs', () => {
  it('a proof opens one connection; the same proof replayed is refused, a fresh one is accepted', async () => {
    const key = newKey();
    const auth = keyAuth('c-replay', key, { enrol: { institutionId: 'JCJ-JYZ', counter: '' } });
    expect(await attempt(auth)).toBe('pending');
    expect(await attempt(auth)).toBe('AUTH_FAILED');
    expect(await attempt(keyAuth('c-replay', key))).toBe('pending');
  });
});

describe('enrolment limits', () => {
  it('refuses more pending collectors than allowed per institution and in all, with ENROL_LIMIT (429)', async () => {
    // c-replay (above) already waits at JCJ-JYZ: one more fits there, then the institution is full.
    const flood1 = newKey();
    expect(await attempt(keyAuth('c-flood-1', flood1, { enrol: { institutionId: 'JCJ-JYZ', counter: '' } }))).toBe('pending');
    expect(await attempt(keyAuth('c-flood-2', newKey(), { enrol: { institutionId: 'JCJ-JYZ', counter: '' } }))).toBe('ENROL_LIMIT');
    // Another institution has room, until the total (3) is reached.
    expect(await attempt(keyAuth('c-flood-3', newKey(), { enrol: { institutionId: 'YZ-JYZ', counter: '' } }))).toBe('pending');
    const k = newKey();
    const ts = Date.now();
    const res = await hub.app.inject({
      method: 'POST',
      url: '/api/v1/collectors/enrol',
      payload: { collectorId: 'c-flood-4', institutionId: 'DA-CGFS', counter: '', publicKey: k.publicKey, ts, proof: k.sign(canonicalAuthProof('c-flood-4', k.publicKey, ts)) },
    });
    expect(res.statusCode).toBe(429);
    expect(res.json().error.code).toBe('ENROL_LIMIT');
    expect(res.json().error.message).toMatch(/3 collectors are waiting/);
    // An already pending collector still reconnects (even re-sending its enrolment): the limits
    // only stop new ones.
    expect(await attempt(keyAuth('c-flood-1', flood1, { enrol: { institutionId: 'JCJ-JYZ', counter: '' } }))).toBe('pending');
  });
});
