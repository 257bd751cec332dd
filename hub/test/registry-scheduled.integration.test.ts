/**
 * Registry changes approved ahead of their effective time ("filed now, in force from Monday") and
 * filings with an end date: the live registry — the screens, ingest's checks, the go-live check —
 * changes when the time comes, not only at the next approval or restart; the rules, which read
 * the registry as of each transaction's time, agree with it before and after.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Hub } from '../src/app.js';
import type { Principal } from '../src/http/access.js';
import { RegistryChanges } from '../src/registry/changes.js';
import { Registry } from '../src/registry/registry.js';
import { login, startTestHub, testRedisUrl, withToken } from './helpers.js';

let hub: Hub;
const tokens: Record<string, string> = {};
const STAFF = 'JCJ-JYZ-I02';
const STATION = 'DL-JYZ';

async function approveRequest(payload: object): Promise<void> {
  const filed = await hub.app.inject(withToken(tokens.registry!, { method: 'POST', url: '/api/v1/registry/requests', payload }));
  expect(filed.statusCode, filed.body).toBe(201);
  const ok = await hub.app.inject(withToken(tokens.registry2!, { method: 'POST', url: `/api/v1/registry/requests/${filed.json().id}/approve`, payload: {} }));
  expect(ok.statusCode, ok.body).toBe(200);
}

async function until(what: string, check: () => boolean, ms = 15_000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

beforeAll(async () => {
  ({ hub } = await startTestHub({ workflowIntervalMs: 3_600_000, evaluationIntervalMs: 3_600_000 }));
  for (const u of ['registry', 'registry2']) tokens[u] = await login(hub, u);
});

afterAll(async () => {
  await hub?.close();
});

describe('registry changes that take effect later', () => {
  it('a change approved ahead of its effective time reaches the live registry when the time comes', async () => {
    const before = hub.registry.staff(STAFF)!;
    expect(before.filed).toBe(true);
    const at = Date.now() + 3_000;
    await approveRequest({ summary: '自下周一起更名', effectiveFrom: new Date(at).toISOString(), items: [{ entity: 'staff', data: { ...before, name: '新名字' } }] });
    // Not yet: the filing in force now is the old one, on screen and for the rules alike.
    expect(hub.registry.staff(STAFF)?.name).toBe(before.name);
    expect(hub.registry.at(Date.now()).staff(STAFF)?.name).toBe(before.name);
    expect(hub.registry.at(at + 1).staff(STAFF)?.name).toBe('新名字');
    await until('the new name in the live registry', () => hub.registry.staff(STAFF)?.name === '新名字');
    expect(Date.now()).toBeGreaterThanOrEqual(at);
    const listed = await hub.app.inject(withToken(tokens.registry!, { method: 'GET', url: '/api/v1/registry/staff' }));
    expect((listed.json().items as { id: string; name: string }[]).find((s) => s.id === STAFF)?.name).toBe('新名字');
  });

  it('a suspension with an end date starts and ends on time', async () => {
    const station = hub.registry.institution(STATION)!;
    expect(station.status).toBe('active');
    const from = Date.now() + 2_000;
    const to = from + 3_000;
    // A bounded version: suspended in [from, to), the filing before it answers outside.
    await approveRequest({ summary: '季度考核 D 级：暂停联网业务', items: [{ entity: 'institution', data: { ...station, status: 'suspended' } }], effectiveFrom: new Date(from).toISOString() });
    expect(hub.registry.institution(STATION)?.status).toBe('active');
    await until('the suspension', () => hub.registry.institution(STATION)?.status === 'suspended');
    expect(Date.now()).toBeGreaterThanOrEqual(from);
    // Lifted by a second request effective at `to`, approved now (before that time).
    await approveRequest({ summary: '恢复联网业务', items: [{ entity: 'institution', data: station }], effectiveFrom: new Date(to).toISOString() });
    expect(hub.registry.institution(STATION)?.status).toBe('suspended');
    await until('the end of the suspension', () => hub.registry.institution(STATION)?.status === 'active');
    expect(Date.now()).toBeGreaterThanOrEqual(to);
    expect(hub.registry.at(from + 1).institution(STATION)?.status).toBe('suspended');
    expect(hub.registry.at(to + 1).institution(STATION)?.status).toBe('active');
  });

  it('a suspension for a term is one request: in force over its period, the filing before it answers again at the end', async () => {
    const SCHOOL = 'HJ-JX';
    const school = hub.registry.institution(SCHOOL)!;
    expect(school.status).toBe('active');
    const inject = (user: string, o: { method: 'GET' | 'POST'; url: string; payload?: object }) => hub.app.inject(withToken(tokens[user]!, o));
    // Periods that could never be in force are refused when filed, with nothing filed.
    const now = Date.now();
    const backwards = await inject('registry', { method: 'POST', url: '/api/v1/registry/requests', payload: { items: [{ entity: 'institution', data: { ...school, status: 'suspended' } }], effectiveFrom: new Date(now + 60_000).toISOString(), effectiveTo: new Date(now + 30_000).toISOString() } });
    expect([backwards.statusCode, backwards.json().error.code, backwards.json().error.message]).toEqual([400, 'BODY_INVALID', 'Request body is invalid: effectiveTo must be later than effectiveFrom']);
    const over = await inject('registry', { method: 'POST', url: '/api/v1/registry/requests', payload: { items: [{ entity: 'institution', data: { ...school, status: 'suspended' } }], effectiveTo: new Date(now - 1).toISOString() } });
    expect([over.statusCode, over.json().error.code, over.json().error.message]).toEqual([400, 'BODY_INVALID', 'Request body is invalid: effectiveTo must be later than now']);
    // Starting at approval, approved only after its end: refused, and still pending.
    const late = await inject('registry', { method: 'POST', url: '/api/v1/registry/requests', payload: { summary: '暂停至明早', items: [{ entity: 'institution', data: { ...school, status: 'suspended' } }], effectiveTo: new Date(Date.now() + 1_000).toISOString() } });
    expect(late.statusCode, late.body).toBe(201);
    expect(late.json().effectiveTo).toBeGreaterThan(now);
    await new Promise((r) => setTimeout(r, 1_100));
    const refused = await inject('registry2', { method: 'POST', url: `/api/v1/registry/requests/${late.json().id}/approve`, payload: {} });
    expect([refused.statusCode, refused.json().error.code]).toEqual([409, 'REQUEST_PERIOD_OVER']);
    expect((await inject('registry', { method: 'GET', url: `/api/v1/registry/requests/${late.json().id}` })).json().status).toBe('pending');
    expect(hub.registry.institution(SCHOOL)?.status).toBe('active');
    // The list of requests filing this institution finds it, and only for this institution.
    const filed = await inject('registry', { method: 'GET', url: `/api/v1/registry/requests?institution=${SCHOOL}&status=pending` });
    expect((filed.json().items as { id: string }[]).map((r) => r.id)).toEqual([late.json().id]);
    const other = await inject('registry', { method: 'GET', url: `/api/v1/registry/requests?institution=BM-DJZ&status=pending` });
    expect((other.json().items as { id: string }[]).map((r) => r.id)).not.toContain(late.json().id);
    await inject('registry2', { method: 'POST', url: `/api/v1/registry/requests/${late.json().id}/reject`, payload: { comment: '已过期' } });

    // A change of the filing approved before the suspension is what answers after it.
    const renamed = `${school.name}（更名）`;
    await approveRequest({ summary: '更名', items: [{ entity: 'institution', data: { ...school, name: renamed } }] });
    const from = Date.now() + 2_000;
    const to = from + 3_000;
    await approveRequest({ summary: '季度考核 D 级：暂停联网业务三个月', items: [{ entity: 'institution', data: { ...school, name: renamed, status: 'suspended' } }], effectiveFrom: new Date(from).toISOString(), effectiveTo: new Date(to).toISOString() });
    expect(hub.registry.institution(SCHOOL)?.status).toBe('active');
    await until('the suspension', () => hub.registry.institution(SCHOOL)?.status === 'suspended');
    expect(Date.now()).toBeGreaterThanOrEqual(from);
    // Ended with no second request: the filing before it, under its new name, in force again.
    await until('the end of the term', () => hub.registry.institution(SCHOOL)?.status === 'active', 10_000);
    expect(Date.now()).toBeGreaterThanOrEqual(to);
    expect(hub.registry.institution(SCHOOL)?.name).toBe(renamed);
    expect([hub.registry.at(from - 1).institution(SCHOOL)?.status, hub.registry.at(from + 1).institution(SCHOOL)?.status, hub.registry.at(to).institution(SCHOOL)?.status]).toEqual(['active', 'suspended', 'active']);
    // The versions say so: the suspension bounded, the filing it interrupted still open.
    const versions = (await inject('registry', { method: 'GET', url: `/api/v1/registry/institution/${SCHOOL}/versions` })).json().items as { validFrom: number; validTo: number | null; data: { status: string } }[];
    const last = versions[versions.length - 1]!;
    expect([last.data.status, last.validFrom, last.validTo]).toEqual(['suspended', from, to]);
    expect(versions[versions.length - 2]).toMatchObject({ validTo: null, data: { status: 'active', name: renamed } });
  });

  it('a hub that was stopped across a boundary applies it when it starts; a listing, too', async () => {
    // Another process over the same store, under its own Redis prefix: its approvals reach no
    // running hub, and it is "stopped" (no schedule) while the effective time passes.
    const prefix = `jgt-sched-${process.pid}-${Date.now().toString(36)}`;
    const redis = new Redis(testRedisUrl());
    const registry = new Registry(hub.store);
    await registry.reload();
    const changes = new RegistryChanges(hub.store, redis, prefix, registry);
    const admin = (username: string): Principal => ({ userId: username, username, displayName: username, roles: ['registry_admin'], scope: null, institutions: [], sessionId: username });
    const station = registry.institution('YZ-JYZ')!;
    const key = 'd'.repeat(64);
    const at = Date.now() + 1_000;
    let stop = () => {};
    try {
      const req = await changes.createRequest(admin('registry'), {
        kind: 'change',
        summary: '迁址；列入黑名单',
        source: 'test',
        effectiveFrom: at,
        items: [
          { entity: 'institution', op: 'upsert', data: { ...station, name: '宜州区机动车检测站（新址）' } },
          { entity: 'listing', op: 'upsert', data: { list: 'person_black', key, note: '冒名代办' } },
        ],
      });
      await changes.approve(admin('registry2'), req.id, '');
      expect(registry.institution('YZ-JYZ')?.name).toBe(station.name);
      expect(registry.listing('person_black', key)).toBeUndefined();
      await new Promise((r) => setTimeout(r, at - Date.now() + 50));
      // Still as it was: nothing applied the boundary while "stopped".
      await registry.reload();
      expect(registry.institution('YZ-JYZ')?.name).toBe(station.name);
      // Started: the boundary that passed is applied at once.
      stop = changes.startSchedule((e) => {
        throw e;
      });
      await until('the renamed station', () => registry.institution('YZ-JYZ')?.name === '宜州区机动车检测站（新址）');
      expect(registry.listing('person_black', key)?.note).toBe('冒名代办');
      // Applied once: the instant applied is kept, a second run finds nothing new.
      expect(await changes.applyDue()).toBe(0);
    } finally {
      stop();
      redis.disconnect();
    }
  });
});
