/**
 * The hub's pseudonym layer where it was missing: a staff member filed by identity number joins
 * the transactions of the same person (counter.self_dealing fires), a dead letter keeps no
 * collector-form hash, masked identities arrive in the old 4+4 form and are stored as 2+2, and
 * `jianguan-hub pseudonyms rotate` rewrites the store so all of that still joins afterwards.
 */
import crypto from 'node:crypto';
import ExcelJS from 'exceljs';
import fs from 'node:fs';
import path from 'node:path';
import { io as connect, type Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Hub } from '../src/app.js';
import { main } from '../src/cli.js';
import { isValidIdNumber } from '@jianguan/rules';
import { collectorIdHash, Keyring, pseudonymsFromKeyring } from '../src/pseudonyms.js';
import { param, sql } from '../src/store/sql.js';
import { checkTxn, login, startTestHub, TEST_COLLECTOR, testRedisUrl, tmpDir, unsignedBatch, withToken } from './helpers.js';

const COLLECTOR_KEY = 'detachment-collector-key-0123456789';
const ID = '45120219900307123X';
const CLERK = 'JCJ-JYZ-T99';
const collectorHash = collectorIdHash(COLLECTOR_KEY, ID);

let hub: Hub;
let dataDir = '';
let keyringPath = '';
const queuePrefix = `jgt-${crypto.randomBytes(4).toString('hex')}`;
const sockets: Socket[] = [];

async function start(): Promise<void> {
  ({ hub } = await startTestHub({ dataDir, queuePrefix, pseudonymSecrets: undefined, pseudonymSecretFile: keyringPath, collectorPseudonymKey: COLLECTOR_KEY }));
}

async function submit(records: unknown[], firstSeq: number): Promise<{ ok: boolean; stored: number; rejected: { code: string }[]; warnings: number }> {
  const s = connect(`${hub.url}/collect`, { auth: { collectorId: TEST_COLLECTOR.collectorId, token: TEST_COLLECTOR.token }, transports: ['websocket'], reconnection: false, forceNew: true });
  sockets.push(s);
  try {
    return await s.timeout(30_000).emitWithAck('batch.submit', unsignedBatch(records, firstSeq));
  } finally {
    s.close();
  }
}

function keyring(): Keyring {
  return Keyring.parse(JSON.parse(fs.readFileSync(keyringPath, 'utf8')));
}

async function selfDealing(txnId: string): Promise<number> {
  const [r] = await hub.store.query<{ n: string }>(sql`SELECT count() AS n FROM warnings FINAL WHERE transaction_id = ${param.String(txnId)} AND rule_id = 'counter.self_dealing'`);
  return Number(r?.n ?? 0);
}

beforeAll(async () => {
  dataDir = tmpDir('pseudonyms');
  keyringPath = path.join(dataDir, 'keyring.json');
  fs.writeFileSync(keyringPath, JSON.stringify({ detachment: '451200', layers: [{ id: 'k1', secret: crypto.randomBytes(32).toString('hex') }] }), { mode: 0o600 });
  await start();
});

afterAll(async () => {
  for (const s of sockets) s.close();
  await hub?.close();
});

describe('registry identities in the hub form', () => {
  it('files a staff member by identity number: hub-form hash, 2+2 masked form, the number itself nowhere', async () => {
    const [registry, registry2] = [await login(hub, 'registry'), await login(hub, 'registry2')];
    const base = hub.registry.staff('JCJ-JYZ-I01')!;
    const filed = await hub.app.inject(
      withToken(registry, {
        method: 'POST',
        url: '/api/v1/registry/requests',
        // Filed from before the fixtures' business day, so the as-of registry knows the clerk then.
        payload: { summary: '备案检验员（身份证号码）', effectiveFrom: '2026-01-01T00:00:00+08:00', items: [{ entity: 'staff', data: { id: CLERK, institutionId: 'JCJ-JYZ', role: base.role, name: '测试检验员', filed: true, validFrom: 0, validTo: null, idNumber: ID } }] },
      }),
    );
    expect(filed.statusCode, filed.body).toBe(201);
    expect(filed.body).not.toContain(ID);
    const ok = await hub.app.inject(withToken(registry2, { method: 'POST', url: `/api/v1/registry/requests/${filed.json().id}/approve`, payload: {} }));
    expect(ok.statusCode, ok.body).toBe(200);
    const expected = pseudonymsFromKeyring(keyring()).rekey(collectorHash);
    expect(hub.registry.staff(CLERK)?.idHash).toBe(expected);
    const [v] = await hub.store.query<{ data: string }>(sql`SELECT data FROM registry_versions FINAL WHERE entity = 'staff' AND key = ${param.String(CLERK)}`);
    expect(JSON.parse(v!.data)).toMatchObject({ idHash: expected, idMasked: '45**************3X' });
    const [req] = await hub.store.query<{ items: string }>(sql`SELECT items FROM registry_requests FINAL WHERE id = ${param.String(filed.json().id)}`);
    expect(req!.items).not.toContain(ID);
    expect(req!.items).not.toContain(collectorHash);
  });

  it('files the 身份证号码 column of an import the same way: previewed masked, filed as the hub-form hash, the number nowhere', async () => {
    const [registry, registry2] = [await login(hub, 'registry'), await login(hub, 'registry2')];
    const IMPORTED = 'JCJ-JYZ-T98';
    const csv = Buffer.from(`编号,机构,角色,姓名,备案,有效期起,身份证号码\r\n${IMPORTED},JCJ-JYZ,查验员,导入检验员,是,2019-03-01,${ID.toLowerCase()}\r\n`);
    const send = (preview: boolean) =>
      hub.app.inject(withToken(registry, { method: 'POST', url: '/api/v1/registry/imports', payload: { entity: 'staff', filename: '人员.csv', contentBase64: csv.toString('base64'), preview } }));
    const preview = await send(true);
    expect(preview.statusCode, preview.body).toBe(200);
    expect(preview.json().items[0].data).toMatchObject({ id: IMPORTED, idMasked: '45**************3X' });
    expect(preview.body).not.toContain(ID);
    expect(preview.body.toUpperCase()).not.toContain(ID);
    const filed = await send(false);
    expect(filed.statusCode, filed.body).toBe(201);
    expect(filed.body.toUpperCase()).not.toContain(ID);
    const ok = await hub.app.inject(withToken(registry2, { method: 'POST', url: `/api/v1/registry/requests/${filed.json().id}/approve`, payload: {} }));
    expect(ok.statusCode, ok.body).toBe(200);
    // The same person as the one filed through the form above: the same hub-form hash.
    expect(hub.registry.staff(IMPORTED)?.idHash).toBe(pseudonymsFromKeyring(keyring()).rekey(collectorHash));
    expect(hub.registry.staff(IMPORTED)?.idHash).toBe(hub.registry.staff(CLERK)?.idHash);
  });

  it('lists and exports the masked identity; the exported sheet imported unchanged files no change', async () => {
    const registry = await login(hub, 'registry');
    const list = await hub.app.inject(withToken(registry, { method: 'GET', url: '/api/v1/registry/staff?institution=JCJ-JYZ' }));
    expect(list.statusCode, list.body).toBe(200);
    expect((list.json().items as { id: string; idMasked?: string }[]).find((x) => x.id === 'JCJ-JYZ-T98')).toMatchObject({ idMasked: '45**************3X' });
    const sheet = await hub.app.inject(withToken(registry, { method: 'GET', url: '/api/v1/registry/staff.xlsx?institution=JCJ-JYZ' }));
    expect(sheet.statusCode).toBe(200);
    const wb = new ExcelJS.Workbook();
    await wb.xlsx.load(sheet.rawPayload as never);
    const ws = wb.worksheets[0]!;
    const header = (ws.getRow(1).values as unknown[]).slice(1);
    const row = ws.getRows(2, ws.rowCount - 1)!.find((r) => r.getCell(1).value === 'JCJ-JYZ-T98')!;
    expect(row.getCell(header.indexOf('身份证') + 1).value).toBe('45**************3X');
    // Read back as it is: every row the same as filed, none changing its identity's masked form.
    const preview = await hub.app.inject(
      withToken(registry, { method: 'POST', url: '/api/v1/registry/imports', payload: { entity: 'staff', filename: '人员备案.xlsx', contentBase64: sheet.rawPayload.toString('base64'), preview: true } }),
    );
    expect(preview.statusCode, preview.body).toBe(200);
    const filed = await hub.app.inject(
      withToken(registry, { method: 'POST', url: '/api/v1/registry/imports', payload: { entity: 'staff', filename: '人员备案.xlsx', contentBase64: sheet.rawPayload.toString('base64') } }),
    );
    expect(filed.statusCode, filed.body).toBe(201);
    const detail = await hub.app.inject(withToken(registry, { method: 'GET', url: `/api/v1/registry/requests/${filed.json().id}` }));
    expect(detail.statusCode, detail.body).toBe(200);
    expect(detail.json().review).toMatchObject({ new: 0, changed: 0, same: ws.rowCount - 1 });
    const rejected = await hub.app.inject(withToken(await login(hub, 'registry2'), { method: 'POST', url: `/api/v1/registry/requests/${filed.json().id}/reject`, payload: { comment: '未改动' } }));
    expect(rejected.statusCode, rejected.body).toBe(200);
  });

  it('refuses identity numbers Excel kept as numbers, from an .xlsx number cell or a CSV, without quoting what is left of them', async () => {
    const registry = await login(hub, 'registry');
    // 451202199811110019 typed into a number cell is kept as 451202199811110000; this one's check
    // digit happens to fit that (0), so only the cell's type tells it was rewritten.
    const rewritten = '451202199811110000';
    expect(isValidIdNumber(rewritten)).toBe(true);
    const wb = new ExcelJS.Workbook();
    const ws = wb.addWorksheet('人员');
    ws.addRow(['编号', '机构', '角色', '姓名', '备案', '有效期起', '身份证号码']);
    ws.addRow(['JCJ-JYZ-T97', 'JCJ-JYZ', '查验员', '数字格式', '是', '2019-03-01', Number(rewritten)]);
    ws.addRow(['JCJ-JYZ-T96', 'JCJ-JYZ', '查验员', '文本格式', '是', '2019-03-01', ID]);
    const xlsx = Buffer.from(await wb.xlsx.writeBuffer());
    const csv = Buffer.from(`编号,机构,角色,姓名,备案,有效期起,身份证号码\r\nJCJ-JYZ-T95,JCJ-JYZ,查验员,科学计数,是,2019-03-01,4.51202E+17\r\n`);
    for (const [filename, body] of [['人员.xlsx', xlsx], ['人员.csv', csv]] as const) {
      const res = await hub.app.inject(withToken(registry, { method: 'POST', url: '/api/v1/registry/imports', payload: { entity: 'staff', filename, contentBase64: body.toString('base64'), preview: true } }));
      expect(res.statusCode, res.body).toBe(422);
      const report = res.json().report as { row: number; field: string; message: string }[];
      expect(report.map((r) => [r.row, r.field])).toEqual([[2, 'idNumber']]);
      expect(report[0]!.message).toMatch(/^身份证号码是科学计数法.*按数字录入.*文本格式/);
      expect(res.body).not.toContain('4512021998111');
    }
  });

  it('names a repeated list entry by its list and masked number, and the row it repeats', async () => {
    const registry = await login(hub, 'registry');
    const other = '452701198001010011';
    const csv = Buffer.from(['名单,标识,备注', `黑名单,${ID},甲`, `黑名单,${other},乙`, `黑名单,${ID.toLowerCase()},甲再次`].join('\r\n'));
    const res = await hub.app.inject(
      withToken(registry, { method: 'POST', url: '/api/v1/registry/imports', payload: { entity: 'listing', filename: '名单.csv', contentBase64: csv.toString('base64'), preview: true } }),
    );
    expect(res.statusCode, res.body).toBe(422);
    const report = res.json().report as { row: number; field: string; message: string }[];
    expect(report.map((r) => [r.row, r.field, r.message.split('（')[0]])).toEqual([[4, 'key', '重复：黑名单 45**************3X，同第 2 行']]);
    expect(res.body).not.toContain(ID);
    expect(res.body).not.toContain(pseudonymsFromKeyring(keyring()).rekey(collectorHash));
  });

  it('refuses an identity that is neither a number nor a collector hash, with the field named', async () => {
    const registry = await login(hub, 'registry');
    const res = await hub.app.inject(
      withToken(registry, { method: 'POST', url: '/api/v1/registry/requests', payload: { items: [{ entity: 'listing', data: { list: 'person_black', key: '4512-not-a-number', note: 'x' } }] } }),
    );
    expect(res.statusCode, res.body).toBe(422);
    expect(res.json().error.code).toBe('IMPORT_INVALID');
    expect(res.json().report).toEqual([expect.objectContaining({ index: 0, field: 'key' })]);
  });

  it('a transaction whose applicant is that clerk raises counter.self_dealing; the old 4+4 masked form is stored as 2+2', async () => {
    const ack = await submit([checkTxn(1, { staffId: CLERK, subject: { idHash: collectorHash, masked: '4512**********123X' } })], 1);
    expect(ack, JSON.stringify(ack)).toMatchObject({ ok: true, stored: 1 });
    expect(await selfDealing(`${TEST_COLLECTOR.collectorId}:1`)).toBe(1);
    const [t] = await hub.store.query<{ h: string; m: string }>(sql`SELECT subject_hash AS h, subject_masked AS m FROM transactions FINAL WHERE id = ${param.String(`${TEST_COLLECTOR.collectorId}:1`)}`);
    expect(t).toEqual({ h: hub.registry.staff(CLERK)!.idHash, m: '45**************3X' });
  });

  it('a dead letter keeps the hub form of the hashes at the known paths, never the collector form', async () => {
    const bad = { ...checkTxn(2, { subject: { idHash: collectorHash, masked: '4512**********123X' }, staffIdHash: collectorHash }), kind: 'no-such-kind' };
    const ack = await submit([bad], 2);
    expect(ack.rejected.map((r) => r.code)).toEqual(['RECORD_INVALID']);
    const [d] = await hub.store.query<{ payload: string }>(sql`SELECT payload FROM dead_letters FINAL WHERE record_id = ${param.String(`${TEST_COLLECTOR.collectorId}:2`)}`);
    expect(d!.payload).not.toContain(collectorHash);
    const stored = JSON.parse(d!.payload);
    expect(stored.subject).toEqual({ idHash: hub.registry.staff(CLERK)!.idHash, masked: '45**************3X' });
    expect(stored.staffIdHash).toBe(hub.registry.staff(CLERK)!.idHash);
  });
});

describe('jianguan-hub pseudonyms rotate', () => {
  it('adds a layer and rewrites the store: old rows, the registry and new arrivals still join', async () => {
    const before = hub.registry.staff(CLERK)!.idHash!;
    await hub.close();
    const env = { JG_DATA_DIR: dataDir, JG_PSEUDONYM_SECRET_FILE: keyringPath, JG_REDIS_URL: testRedisUrl() };
    expect(await main(['pseudonyms', 'rotate'], env)).toBe(0);
    expect(keyring().layers.map((l) => l.id)).toEqual(['k1', 'k2']);
    expect(fs.existsSync(`${keyringPath}.next`)).toBe(false);
    expect((fs.statSync(keyringPath).mode & 0o777).toString(8)).toBe('600');

    await start();
    const after = pseudonymsFromKeyring(keyring()).rekey(collectorHash);
    expect(after).not.toBe(before);
    expect(hub.registry.staff(CLERK)?.idHash).toBe(after);
    const [t] = await hub.store.query<{ h: string }>(sql`SELECT subject_hash AS h FROM transactions FINAL WHERE id = ${param.String(`${TEST_COLLECTOR.collectorId}:1`)}`);
    expect(t!.h).toBe(after);
    const [d] = await hub.store.query<{ payload: string }>(sql`SELECT payload FROM dead_letters FINAL WHERE record_id = ${param.String(`${TEST_COLLECTOR.collectorId}:2`)}`);
    expect(JSON.parse(d!.payload).subject.idHash).toBe(after);

    // A new arrival for the same person joins the rewritten rows and the rewritten registry.
    const ack = await submit([checkTxn(3, { staffId: CLERK, subject: { idHash: collectorHash, masked: '45**************3X' } })], 3);
    expect(ack, JSON.stringify(ack)).toMatchObject({ ok: true, stored: 1 });
    expect(await selfDealing(`${TEST_COLLECTOR.collectorId}:3`)).toBe(1);
    const [j] = await hub.store.query<{ n: string }>(sql`SELECT uniqExact(id) AS n FROM transactions FINAL WHERE subject_hash = ${param.String(after)}`);
    expect(Number(j!.n)).toBe(2);
  });

  it('refuses to run while an unfinished rotation left its next keyring behind', async () => {
    fs.writeFileSync(`${keyringPath}.next`, '{}');
    try {
      const env = { JG_DATA_DIR: path.join(dataDir, 'elsewhere'), JG_PSEUDONYM_SECRET_FILE: keyringPath, JG_REDIS_URL: testRedisUrl() };
      expect(await main(['pseudonyms', 'rotate'], env)).toBe(1);
      expect(keyring().layers).toHaveLength(2);
    } finally {
      fs.unlinkSync(`${keyringPath}.next`);
    }
  });
});
