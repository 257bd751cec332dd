/**
 * Going live with years of filings: the registry is filed by import with each row's own past
 * filing dates, and a past day is replayed the way docs/go-live.md steps 4–5 tell a detachment to:
 * a collector started from the collector package without a token enrols with its key, an
 * administrator approves the fingerprint it logged, and it is then run again (same outbox
 * directory) with only a dedicated file source reading the day's export from the beginning;
 * `jianguan-collector status --json` says when the file is read. The warnings it raises are judged
 * against labels known by construction:
 *   - inspectors filed since 2023 → nothing "unfiled" (before effective times, every one was);
 *   - one inspector nobody filed, and one whose filing began two days after the day → caught;
 *   - one filed inspector checking their own vehicle (identity through the registry) → self-dealing.
 * Precision (true warnings / all warnings) must be at least 0.9; replayed warnings are stored but
 * never pushed to the wall as live. Bad import rows are reported row by row, nothing filed.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { io as connect, type Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPseudonymizer, idCheckDigit, startCollector, vinCheckDigit, type CollectorConfigInput, type CollectorEvent, type CollectorHandle, type SourceConfigInput } from '../../collector/dist/index.js';
import type { Hub } from '../src/app.js';
import type { CollectorInfo } from '../src/protocol/index.js';
import { param, sql } from '../src/store/sql.js';
import { gb18030 } from './gb18030.js';
import { login, removeDir, startTestHub, tmpDir, withToken } from './helpers.js';

/** The replayed day: Wednesday 2026-11-18, from 09:00 China Standard Time. */
const DAY = Date.UTC(2026, 10, 18, 1, 0, 0);
const FILED = Array.from({ length: 20 }, (_, i) => `JCJ-JYZ-P${String(i + 1).padStart(2, '0')}`);
const LATE = 'JCJ-JYZ-P21'; // filed from 2026-11-20: not yet on the day
const NEVER = 'JCJ-JYZ-X99'; // never filed
const SELF = FILED[4]!; // checks their own vehicle once
/** The detachment's collector key (JG_PSEUDONYM_KEY, the same on every counter PC). */
const PSEUDONYM_KEY = 'jcj-jyz-collector-key-0123456789';
const withCheckDigit = (first17: string) => first17 + idCheckDigit(first17);
const SELF_ID = withCheckDigit('45120219880307005');
/** 身份证哈希 as the registry file carries it: the identity number as the collectors hash it. */
const SELF_HASH = createPseudonymizer(PSEUDONYM_KEY).idHash(SELF_ID);

/** docs/go-live.md step 4: the collector of the institution, enrolled, not a static token. */
const COLLECTOR_ID = 'c-jcj-jyz-01';
const INSTITUTION = 'JCJ-JYZ';
/** docs/go-live.md step 5: a dedicated source name, so the replay's read position is its own. */
const REPLAY_SOURCE = 'replay-2026-w47';
const COLLECTOR_MAIN = fileURLToPath(new URL('../../collector/dist/main.js', import.meta.url));

let hub: Hub;
let wall: Socket;
let tmp: string;
let collector: CollectorHandle | undefined;
const tokens: Record<string, string> = {};
const liveIds = new Set<string>();

const csv = (rows: string[][]) => Buffer.from(rows.map((r) => r.join(',')).join('\n'), 'utf8').toString('base64');

async function importAndApprove(entity: string, rows: string[][]): Promise<void> {
  const filed = await hub.app.inject(withToken(tokens.registry!, { method: 'POST', url: '/api/v1/registry/imports', payload: { entity, filename: `${entity}.csv`, contentBase64: csv(rows) } }));
  expect(filed.statusCode, filed.body).toBe(201);
  const ok = await hub.app.inject(withToken(tokens.registry2!, { method: 'POST', url: `/api/v1/registry/requests/${filed.json().id}/approve`, payload: {} }));
  expect(ok.statusCode, ok.body).toBe(200);
}

async function waitFor<T>(probe: () => Promise<T | undefined> | T | undefined, ms: number, what: () => string): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > until) throw new Error(`timed out after ${ms} ms waiting for ${what()}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Local time (UTC+8) as the source systems write it. */
const local = (ms: number) => new Date(ms + 8 * 3_600_000).toISOString().slice(0, 19).replace('T', ' ');

/**
 * The labelled day as the check system exports it, one record per line in the collector's own
 * format (adapter `native`: raw identity numbers, hashed by the collector): 3 checks per
 * inspector, each in their own lane, 30 minutes apart. Labels are keyed by business number.
 */
function day() {
  const people = [...FILED, LATE, NEVER];
  const lines: string[] = [];
  const truth = new Map<string, string>(); // lsh → the rule that must fire
  let seq = 1;
  for (const [i, staffId] of people.entries()) {
    for (let j = 0; j < 3; j++, seq++) {
      const start = DAY + j * 30 * 60_000 + i * 10_000;
      const own = staffId === SELF && j === 1;
      const lsh = `2611180${String(seq).padStart(5, '0')}`;
      const vin = `LSVAA4180E2${String(100_000 + seq).slice(-6)}`;
      lines.push(
        JSON.stringify({
          kind: 'check',
          channel: 'institution',
          lsh,
          ywlx: 'A',
          counter: `L${i + 1}`,
          staffId,
          subject: { idNumber: own ? SELF_ID : withCheckDigit(`4512031975${String(1 + (seq % 12)).padStart(2, '0')}15${String(seq).padStart(3, '0')}`) },
          vehicle: { hpzl: '02', hphm: `桂M${10_000 + seq}`, vin: vin.slice(0, 8) + vinCheckDigit(vin) + vin.slice(9) },
          startedAt: local(start),
          endedAt: local(start + 400_000),
          occurredAt: local(start + 400_000),
          outcome: 'pass',
        }),
      );
      if (staffId === LATE || staffId === NEVER) truth.set(lsh, 'check.inspector_unfiled');
      if (own) truth.set(lsh, 'counter.self_dealing');
    }
  }
  return { lines, truth };
}

/** The collector as docs/go-live.md step 4 runs it: no token (it enrols), its outbox under tmp. */
function collectorConfig(sources: SourceConfigInput[]): CollectorConfigInput {
  return {
    collectorId: COLLECTOR_ID,
    hubUrl: hub.url,
    institutionId: INSTITUTION,
    pseudonymKey: PSEUDONYM_KEY,
    outboxDir: path.join(tmp, 'collector'),
    sources,
    // Several batches for the day, so the hub's chain of them has links to check.
    batch: { maxRecords: 20, maxBytes: 512 * 1024, lingerMs: 20 },
  };
}

/** `jianguan-collector status --json` with the collector's JG_* settings (docs/go-live.md step 5). */
async function collectorStatus(): Promise<{
  depth: number;
  metrics: { running: boolean; outbox: { depth: number }; rejectedBySource: Record<string, number>; sources: { name: string; type: string; adapter?: string; state: string; captured: number; rejected: number; lagBytes?: number }[] };
}> {
  const { stdout } = await promisify(execFile)(process.execPath, [COLLECTOR_MAIN, 'status', '--json'], {
    env: { ...process.env, JG_COLLECTOR_ID: COLLECTOR_ID, JG_INSTITUTION_ID: INSTITUTION, JG_OUTBOX_DIR: path.join(tmp, 'collector') },
    timeout: 15_000,
  });
  return JSON.parse(stdout);
}

beforeAll(async () => {
  tmp = tmpDir('go-live');
  // As deployed: the wall's live threshold, collector keys required and no static collectors
  // (every collector enrols and is approved), the hub's own pseudonym keyring. The wall stays
  // readable anonymously on loopback for the live-flood check.
  ({ hub } = await startTestHub({
    wallLiveMaxAgeMs: 6 * 3_600_000,
    workflowIntervalMs: 3_600_000,
    evaluationIntervalMs: 3_600_000,
    collectorKeys: 'required',
    collectors: [],
    pseudonymSecrets: undefined,
  }));
  for (const u of ['registry', 'registry2', 'admin']) tokens[u] = await login(hub, u);
  const header = ['编号', '机构', '角色', '姓名', '已备案', '有效期起', '有效期止', '身份证哈希'];
  await importAndApprove('staff', [
    header,
    ...FILED.map((id) => [id, INSTITUTION, '查验员', `查验员${id.slice(-2)}`, '是', '2023-03-01', '2029-12-31', id === SELF ? SELF_HASH : '']),
    [LATE, INSTITUTION, '查验员', '新查验员', '是', '2026-11-20', '2029-12-31', ''],
  ]);
  await importAndApprove('device', [
    ['设备编号', '机构', '设备类别', '名称', '检测线', '已备案', '有效期起', '有效期止', '检定有效期至'],
    ['JCJ-JYZ-CAM-01', INSTITUTION, '查验摄像设备', '查验通道摄像机', 'L1', '是', '2022-01-01', '', '2027-06-30'],
  ]);
  wall = connect(`${hub.url}/wall`, { transports: ['websocket'], reconnection: false, forceNew: true });
  wall.on('warning.raised', (batch: { transactionId: string }[]) => batch.forEach((w) => liveIds.add(w.transactionId)));
  await new Promise<void>((resolve, reject) => (wall.once('wall.snapshot', () => resolve()), wall.once('connect_error', reject)));
}, 120_000);

afterAll(async () => {
  await collector?.stop();
  wall?.close();
  await hub?.close();
  if (tmp) removeDir(tmp);
});

describe('going live: a past day replayed against filings imported with their own dates', () => {
  it('the as-of registry holds the past', () => {
    expect(hub.registry.at(DAY).staff(FILED[0]!)?.filed).toBe(true);
    expect(hub.registry.at(DAY).staff(LATE)).toBeUndefined();
    expect(hub.registry.at(Date.UTC(2026, 10, 21)).staff(LATE)?.filed).toBe(true);
    expect(hub.registry.at(DAY).device?.('JCJ-JYZ-CAM-01')?.lineId).toBe('L1');
    // Filed in the collectors' form, kept in the hub's (its own pseudonym layer on top).
    expect(hub.registry.staff(SELF)?.idHash).toMatch(/^[0-9a-f]{16,128}$/);
    expect(hub.registry.staff(SELF)?.idHash).not.toBe(SELF_HASH);
  });

  let fingerprint = '';

  it('enrols the collector; an administrator approves the key fingerprint it logged', async () => {
    const events: CollectorEvent[] = [];
    const enrolling = await startCollector(collectorConfig([]), { onEvent: (e) => events.push(e) });
    collector = enrolling;
    const loaded = events.find((e) => e.event === 'identity.loaded');
    expect(loaded).toMatchObject({ event: 'identity.loaded', created: true, mode: 'enrol' });
    fingerprint = (loaded as Extract<CollectorEvent, { event: 'identity.loaded' }>).keyFingerprint;
    await waitFor(() => (events.some((e) => e.event === 'link.pending') ? true : undefined), 15_000, () => `link.pending (events: ${events.map((e) => e.event).join(', ')})`);

    const listed = await hub.app.inject(withToken(tokens.admin!, { url: '/api/v1/collectors' }));
    expect(listed.statusCode, listed.body).toBe(200);
    const info = (listed.json().items as CollectorInfo[]).find((c) => c.collectorId === COLLECTOR_ID);
    expect(info).toMatchObject({ institutionId: INSTITUTION, origin: 'enrolled', status: 'pending', keyFingerprint: fingerprint });
    const approved = await hub.app.inject(withToken(tokens.admin!, { method: 'POST', url: `/api/v1/collectors/${COLLECTOR_ID}/approve`, payload: { keyFingerprint: fingerprint } }));
    expect(approved.statusCode, approved.body).toBe(200);
    expect(approved.json()).toMatchObject({ collectorId: COLLECTOR_ID, status: 'approved' });
    // Step 5: stop the collector before running it with the replay source.
    await enrolling.stop();
    collector = undefined;
  }, 60_000);

  it('raises what was wrong at the time, and little else', async () => {
    expect(fingerprint).not.toBe('');
    const { lines, truth } = day();
    const file = path.join(tmp, 'replay', 'check_2026-11-18.jsonl');
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, gb18030(lines.map((l) => `${l}\n`).join('')));

    // docs/go-live.md step 5: the same settings and directory, only the replay source.
    const events: CollectorEvent[] = [];
    collector = await startCollector(
      collectorConfig([{ type: 'file', name: REPLAY_SOURCE, path: file, adapter: 'native', startAt: 'beginning', encoding: 'gb18030' }]),
      { onEvent: (e) => events.push(e) },
    );
    expect(events.find((e) => e.event === 'identity.loaded')).toMatchObject({ created: false, keyFingerprint: fingerprint, mode: 'enrol' });
    const started = events.find((e) => e.event === 'source.started') as Extract<CollectorEvent, { event: 'source.started' }> | undefined;
    expect(started).toMatchObject({ source: REPLAY_SOURCE, type: 'file' });
    expect(started!.detail).not.toContain('from byte'); // no saved position: read from the beginning

    // The replay is finished when the source's captured + rejected equals the file's rows and
    // the outbox is empty (docs/go-live.md step 5), read from `status --json`.
    let last: Awaited<ReturnType<typeof collectorStatus>> | undefined;
    const done = await waitFor(
      async () => {
        last = await collectorStatus();
        const src = last.metrics.sources.find((s) => s.name === REPLAY_SOURCE);
        return src && src.captured + src.rejected === lines.length && last.depth === 0 && last.metrics.outbox.depth === 0 ? last : undefined;
      },
      45_000,
      () => `status --json to show ${lines.length} rows read and an empty outbox (last: ${JSON.stringify(last)}; events: ${events.map((e) => e.event).join(', ')})`,
    );
    expect(done.metrics.running).toBe(true);
    // Every row mapped, none rejected, and the file's read position at its end (still followed).
    expect(done.metrics.sources.find((s) => s.name === REPLAY_SOURCE)).toMatchObject({ type: 'file', adapter: 'native', state: 'running', captured: lines.length, rejected: 0, lagBytes: 0 });
    expect(done.metrics.rejectedBySource).toEqual({});
    expect(events.filter((e) => e.event === 'source.rejected')).toEqual([]);
    expect(events.find((e) => e.event === 'hub.hello')).toMatchObject({ status: 'approved', institutionId: INSTITUTION });
    const acked = events.filter((e): e is Extract<CollectorEvent, { event: 'batch.acked' }> => e.event === 'batch.acked');
    expect(acked.reduce((n, e) => n + e.records, 0)).toBe(lines.length);
    expect(acked.reduce((n, e) => n + e.stored, 0)).toBe(lines.length);
    expect(acked.filter((e) => e.held)).toEqual([]);

    // Every record stored, under the collector's id.
    const stored = await waitFor(
      async () => {
        const rows = await hub.store.query<{ id: string; lsh: string; batch_id: string; subject_hash: string; staff_id: string }>(
          sql`SELECT id, lsh, batch_id, subject_hash, staff_id FROM transactions FINAL WHERE collector_id = ${param.String(COLLECTOR_ID)}`,
        );
        return rows.length === lines.length ? rows : undefined;
      },
      30_000,
      () => `${lines.length} stored transactions of ${COLLECTOR_ID}`,
    );
    expect(stored.every((r) => r.id.startsWith(`${COLLECTOR_ID}:`))).toBe(true);
    expect(new Set(stored.map((r) => r.lsh)).size).toBe(lines.length);

    // …in batches signed with the approved key and chained one to the next.
    const chain = await hub.store.query<{ batch_seq: string | number; batch_id: string; hash: string; prev_hash: string; records: string | number; held: string | number; key_fingerprint: string }>(
      sql`SELECT batch_seq, batch_id, hash, prev_hash, records, held, key_fingerprint FROM collector_batches FINAL WHERE collector_id = ${param.String(COLLECTOR_ID)} ORDER BY batch_seq`,
    );
    expect(chain.length).toBeGreaterThanOrEqual(Math.ceil(lines.length / 20));
    expect(chain.every((b) => b.key_fingerprint === fingerprint && Number(b.held) === 0)).toBe(true);
    expect(chain.map((b) => Number(b.batch_seq))).toEqual(chain.map((_, i) => i + 1));
    for (let i = 1; i < chain.length; i++) expect(chain[i]!.prev_hash, `batch ${i + 1} links to batch ${i}`).toBe(chain[i - 1]!.hash);
    expect(chain.reduce((n, b) => n + Number(b.records), 0)).toBe(lines.length);
    const chained = new Set(chain.map((b) => b.batch_id));
    expect(stored.filter((r) => !chained.has(r.batch_id))).toEqual([]);

    const idByLsh = new Map(stored.map((r) => [r.lsh, r.id]));
    const truthById = new Map([...truth].map(([lsh, rule]) => [idByLsh.get(lsh)!, rule]));
    const ids = stored.map((r) => r.id);
    const raised = await hub.store.query<{ transaction_id: string; rule_id: string }>(
      sql`SELECT transaction_id, rule_id FROM warnings FINAL WHERE transaction_id IN ${param.ArrayString(ids)}`,
    );
    const hits = new Set(raised.map((w) => `${w.transaction_id}|${w.rule_id}`));
    const truePositives = raised.filter((w) => truthById.get(w.transaction_id) === w.rule_id).length;
    const precision = raised.length ? truePositives / raised.length : 0;
    console.info(`go-live replay: ${lines.length} records, ${raised.length} warnings, ${truePositives} true, precision ${precision.toFixed(3)}`);
    // Every labelled warning is raised…
    for (const [id, rule] of truthById) expect(hits.has(`${id}|${rule}`), `${id} ${rule}`).toBe(true);
    // …no filed inspector is "unfiled"…
    const filedIds = new Set(stored.filter((r) => FILED.includes(r.staff_id)).map((r) => r.id));
    expect(filedIds.size).toBe(FILED.length * 3);
    expect(raised.filter((w) => filedIds.has(w.transaction_id) && w.rule_id === 'check.inspector_unfiled')).toEqual([]);
    // …and precision on the labelled day is at least 0.9 (7 true warnings of 66 records).
    expect(truthById.size).toBe(7);
    expect(precision, `precision ${precision.toFixed(3)} — raised ${JSON.stringify(raised)}`).toBeGreaterThanOrEqual(0.9);
    const explanation = await hub.store.query<{ explanation: string }>(
      sql`SELECT explanation FROM warnings FINAL WHERE rule_id = 'counter.self_dealing' AND transaction_id IN ${param.ArrayString(ids)}`,
    );
    expect(explanation[0]?.explanation).toContain(SELF);
    // The identity the collector hashed from the export joins the one filed in the registry.
    const own = stored.find((r) => truthById.get(r.id) === 'counter.self_dealing')!;
    expect(own.subject_hash).toBe(hub.registry.staff(SELF)?.idHash);
    // The wall is not flooded: a past day is stored and worked, not pushed as live.
    await new Promise((r) => setTimeout(r, 500));
    expect(ids.filter((id) => liveIds.has(id))).toEqual([]);
  }, 120_000);
});

describe('import of existing filings with bad rows', () => {
  it('reports every bad row and files nothing', async () => {
    const before = (await hub.app.inject(withToken(tokens.registry!, { url: '/api/v1/registry/requests?status=pending' }))).json().total as number;
    const res = await hub.app.inject(
      withToken(tokens.registry!, {
        method: 'POST',
        url: '/api/v1/registry/imports',
        payload: {
          entity: 'staff',
          filename: 'bad.csv',
          contentBase64: csv([
            ['编号', '机构', '角色', '已备案', '有效期起', '有效期止'],
            ['JCJ-JYZ-Q01', 'JCJ-JYZ', '查验员', '是', '2023-03-01', '2029-12-31'],
            ['JCJ-JYZ-Q02', 'JCJ-JYZ', '站长', '是', '2023-03-01', ''],
            ['JCJ-JYZ-Q03', 'JCJ-JYZ', '查验员', '是', '2023-02-30x', ''],
            ['JCJ-JYZ-Q04', 'NO-SUCH', '查验员', '是', '2023-03-01', ''],
            ['JCJ-JYZ-Q05', 'JCJ-JYZ', '查验员', '是', '2024-03-01', '2023-03-01'],
          ]),
        },
      }),
    );
    expect(res.statusCode, res.body).toBe(422);
    expect(res.json().error.code).toBe('IMPORT_INVALID');
    const rows = (res.json().report as { row: number; field: string }[]).map((e) => `${e.row}:${e.field}`);
    expect(rows).toEqual(expect.arrayContaining(['3:role', '4:validFrom']));
    const after = (await hub.app.inject(withToken(tokens.registry!, { url: '/api/v1/registry/requests?status=pending' }))).json().total as number;
    expect(after).toBe(before);
  });

  it('previews a valid file without filing it, and refuses an unknown institution and reversed dates', async () => {
    const file = (rows: string[][]) => ({ entity: 'device', filename: 'devices.csv', contentBase64: csv(rows), preview: true });
    const header = ['设备编号', '机构', '设备类别', '已备案', '有效期起', '有效期止'];
    const ok = await hub.app.inject(withToken(tokens.registry!, { method: 'POST', url: '/api/v1/registry/imports', payload: file([header, ['D-1', 'JCJ-JYZ', '检测仪器', '是', '2021-05-01', '']]) }));
    expect(ok.statusCode, ok.body).toBe(200);
    expect(ok.json()).toMatchObject({ preview: true, total: 1, items: [{ row: 2, data: { id: 'D-1', kind: 'inspection_instrument' } }] });
    expect(ok.json().items[0].validFrom).toBe(Date.UTC(2021, 3, 30, 16));
    const bad = await hub.app.inject(
      withToken(tokens.registry!, { method: 'POST', url: '/api/v1/registry/imports', payload: file([header, ['D-2', 'JCJ-JYZ', '检测仪器', '是', '2021-05-01', ''], ['D-3', 'JCJ-JYZ', '检测仪器', '是', '2021-05-01', '2020-01-01']]) }),
    );
    expect(bad.statusCode, bad.body).toBe(422);
    expect((bad.json().report as { row: number; field: string }[]).map((e) => `${e.row}:${e.field}`)).toEqual(['3:validTo']);
    const unknown = await hub.app.inject(withToken(tokens.registry!, { method: 'POST', url: '/api/v1/registry/imports', payload: file([header, ['D-2', 'NO-SUCH', '检测仪器', '是', '2021-05-01', '']]) }));
    expect(unknown.statusCode, unknown.body).toBe(422);
    expect((unknown.json().report as { row: number; field: string }[]).map((e) => `${e.row}:${e.field}`)).toEqual(['2:institutionId']);
  });

  it('a change request carries an effective time in the past, shown on the request and used by the versions', async () => {
    const staff = { ...hub.registry.staff(FILED[1]!)!, name: '更正姓名' };
    const filed = await hub.app.inject(
      withToken(tokens.registry!, { method: 'POST', url: '/api/v1/registry/requests', payload: { summary: '更正', effectiveFrom: '2025-01-01T00:00:00+08:00', items: [{ entity: 'staff', data: staff }] } }),
    );
    expect(filed.statusCode, filed.body).toBe(201);
    expect(filed.json().effectiveFrom).toBe(Date.UTC(2024, 11, 31, 16));
    const shown = await hub.app.inject(withToken(tokens.registry2!, { url: `/api/v1/registry/requests/${filed.json().id}` }));
    expect(shown.json().effectiveFrom).toBe(Date.UTC(2024, 11, 31, 16));
    await hub.app.inject(withToken(tokens.registry2!, { method: 'POST', url: `/api/v1/registry/requests/${filed.json().id}/approve`, payload: {} }));
    expect(hub.registry.at(Date.UTC(2025, 0, 2)).staff(FILED[1]!)?.name).toBe('更正姓名');
    expect(hub.registry.at(Date.UTC(2024, 5, 1)).staff(FILED[1]!)?.name).toBe('查验员02');
    const versions = (await hub.app.inject(withToken(tokens.registry!, { url: `/api/v1/registry/staff/${FILED[1]}/versions` }))).json().items as { version: number; validFrom: number; validTo: number | null }[];
    expect(versions.map((v) => [v.version, v.validFrom, v.validTo])).toEqual([
      [1, Date.UTC(2023, 1, 28, 16), Date.UTC(2024, 11, 31, 16)],
      [2, Date.UTC(2024, 11, 31, 16), null],
    ]);
  });
});
