/**
 * The registry with maker-checker and versions: a change takes effect only when a different
 * registry administrator approves it; approval closes the previous version and opens the next;
 * "as of T" reads the version in force then; imports (CSV, XLSX) are all-or-nothing with a
 * row-by-row error report; user administration.
 */
import ExcelJS from 'exceljs';
import { io as connect } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Hub } from '../src/app.js';
import { sql } from '../src/store/sql.js';
import { login, startTestHub, withToken } from './helpers.js';

let hub: Hub;
const tokens: Record<string, string> = {};
const HASH = 'b'.repeat(64);

async function call(user: string, method: 'GET' | 'POST' | 'PATCH', url: string, payload?: object) {
  return hub.app.inject(withToken(tokens[user]!, { method, url, ...(payload ? { payload } : {}) }));
}

async function counts() {
  const [r] = await hub.store.query<{ req: string; ver: string }>(
    sql`SELECT (SELECT count() FROM registry_requests FINAL) AS req, (SELECT count() FROM registry_versions FINAL) AS ver`,
  );
  return { requests: Number(r!.req), versions: Number(r!.ver) };
}

const NEW_STATION = { id: 'YZ-JYZ2', name: '宜州区第二机动车检测站', type: 'inspection_station', county: '451203', lon: 108.6, lat: 24.5, status: 'active' };

beforeAll(async () => {
  // This hub also runs with a non-public wall (JG_WALL_PUBLIC=false).
  ({ hub } = await startTestHub({ workflowIntervalMs: 3_600_000, evaluationIntervalMs: 3_600_000, wallPublic: false }));
  for (const u of ['registry', 'registry2', 'admin', 'auditor', 'leader']) tokens[u] = await login(hub, u);
});

afterAll(async () => {
  await hub?.close();
});

describe('baseline', () => {
  it('gives every seeded institution and staff member a first version, valid from the start', async () => {
    const res = await call('leader', 'GET', '/api/v1/registry/institution/JCJ-JYZ/versions');
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json().items).toEqual([expect.objectContaining({ version: 1, validFrom: 0, validTo: null, requestId: 'baseline' })]);
  });
});

describe('maker-checker', () => {
  let requestId = '';
  let approvedAt = 0;

  it('files a change as a pending request; nothing changes yet', async () => {
    const res = await call('registry', 'POST', '/api/v1/registry/requests', {
      summary: '新增宜州区第二检测站及人员、检测线、黑名单',
      items: [
        { entity: 'institution', data: NEW_STATION },
        { entity: 'staff', data: { id: 'YZ-JYZ2-E01', institutionId: 'YZ-JYZ2', role: 'examiner', name: '宜州E1', filed: true, validFrom: 0, validTo: null, classes: ['C1', 'C2'], idHash: HASH, idMasked: '4512**********001X' } },
        { entity: 'line', data: { id: 'YZ-JYZ2-L1', institutionId: 'YZ-JYZ2', kind: 'inspection_line', name: '1号线', minSeconds: 300, dailyCapacity: 120 } },
        { entity: 'listing', data: { list: 'person_black', key: HASH, note: '伪造材料' } },
      ],
    });
    expect(res.statusCode, res.body).toBe(201);
    expect(res.json()).toMatchObject({ status: 'pending', itemCount: 4, counties: ['451203'], requestedBy: 'registry' });
    requestId = res.json().id;
    expect(hub.registry.institution('YZ-JYZ2')).toBeUndefined();
    const list = await call('leader', 'GET', '/api/v1/registry/requests?status=pending');
    expect(list.statusCode).toBe(403);
    const pending = await call('registry2', 'GET', '/api/v1/registry/requests?status=pending');
    expect(pending.json().items.map((r: { id: string }) => r.id)).toContain(requestId);
  });

  it('refuses approval by the requester (SAME_APPROVER) and by non-admins (FORBIDDEN)', async () => {
    const self = await call('registry', 'POST', `/api/v1/registry/requests/${requestId}/approve`, {});
    expect([self.statusCode, self.json().error.code]).toEqual([403, 'SAME_APPROVER']);
    const leader = await call('leader', 'POST', `/api/v1/registry/requests/${requestId}/approve`, {});
    expect(leader.json().error.code).toBe('FORBIDDEN');
  });

  it('a different administrator approves: versions written, the live registry reloaded', async () => {
    const res = await call('registry2', 'POST', `/api/v1/registry/requests/${requestId}/approve`, { comment: '材料齐全' });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toMatchObject({ status: 'approved', decidedBy: 'registry2', decisionComment: '材料齐全' });
    approvedAt = res.json().decidedAt;
    expect(hub.registry.institution('YZ-JYZ2')?.name).toBe('宜州区第二机动车检测站');
    expect(hub.registry.staff('YZ-JYZ2-E01')).toMatchObject({ role: 'examiner', filed: true, classes: ['C1', 'C2'] });
    expect(hub.registry.listing('person_black', HASH)).toMatchObject({ note: '伪造材料' });
    expect(hub.registry.line('YZ-JYZ2-L1')).toMatchObject({ minSeconds: 300, dailyCapacity: 120 });
    const again = await call('registry2', 'POST', `/api/v1/registry/requests/${requestId}/approve`, {});
    expect([again.statusCode, again.json().error.code]).toEqual([409, 'REQUEST_NOT_PENDING']);
  });

  it('a later change closes the previous version; "as of" reads the version in force then', async () => {
    const filed = await call('registry2', 'POST', '/api/v1/registry/requests', { items: [{ entity: 'institution', data: { ...NEW_STATION, name: '宜州区第二检测站（更名）' } }] });
    const id = filed.json().id as string;
    const between = Date.now();
    await new Promise((r) => setTimeout(r, 5));
    const ok = await call('registry', 'POST', `/api/v1/registry/requests/${id}/approve`, {});
    expect(ok.statusCode, ok.body).toBe(200);
    const t2 = ok.json().decidedAt as number;
    const v = (await call('leader', 'GET', '/api/v1/registry/institution/YZ-JYZ2/versions')).json().items;
    expect(v.map((x: { version: number; validFrom: number; validTo: number | null }) => [x.version, x.validFrom, x.validTo])).toEqual([
      [1, approvedAt, t2],
      [2, t2, null],
    ]);
    const old = await call('leader', 'GET', `/api/v1/registry/institutions?asOf=${between}`);
    expect(old.json().items.find((i: { id: string }) => i.id === 'YZ-JYZ2')?.name).toBe('宜州区第二机动车检测站');
    const before = await call('leader', 'GET', `/api/v1/registry/institutions?asOf=${approvedAt - 1}`);
    expect(before.json().items.find((i: { id: string }) => i.id === 'YZ-JYZ2')).toBeUndefined();
    expect(before.json().items.find((i: { id: string }) => i.id === 'JCJ-JYZ')).toBeDefined();
    const now = await call('leader', 'GET', '/api/v1/registry/institutions');
    expect(now.json().items.find((i: { id: string }) => i.id === 'YZ-JYZ2')?.name).toBe('宜州区第二检测站（更名）');
    expect((await hub.registry.asOf(between)).institution('YZ-JYZ2')?.name).toBe('宜州区第二机动车检测站');
  });

  it('a rejection needs a reason and changes nothing', async () => {
    const filed = await call('registry', 'POST', '/api/v1/registry/requests', { items: [{ entity: 'institution', data: { ...NEW_STATION, status: 'suspended' } }] });
    const id = filed.json().id as string;
    const noReason = await call('registry2', 'POST', `/api/v1/registry/requests/${id}/reject`, { comment: '' });
    expect(noReason.json().error.code).toBe('BODY_INVALID');
    const res = await call('registry2', 'POST', `/api/v1/registry/requests/${id}/reject`, { comment: '缺少批准文件' });
    expect(res.json()).toMatchObject({ status: 'rejected', decisionComment: '缺少批准文件' });
    expect(hub.registry.institution('YZ-JYZ2')?.status).toBe('active');
  });

  it('retiring a staff filing ends it: no longer filed live, absent as of later times', async () => {
    const cur = hub.registry.staff('YZ-JYZ2-E01')!;
    const filed = await call('registry', 'POST', '/api/v1/registry/requests', { items: [{ entity: 'staff', op: 'retire', data: cur }] });
    const ok = await call('registry2', 'POST', `/api/v1/registry/requests/${filed.json().id}/approve`, {});
    expect(ok.statusCode, ok.body).toBe(200);
    const t = ok.json().decidedAt as number;
    expect(hub.registry.staff('YZ-JYZ2-E01')?.filed).toBe(false);
    expect((await hub.registry.asOf(t - 1)).staff('YZ-JYZ2-E01')?.filed).toBe(true);
    expect((await hub.registry.asOf(t + 1)).staff('YZ-JYZ2-E01')).toBeUndefined();
  });

  it('rejects invalid items with a report and files nothing', async () => {
    const before = await counts();
    const res = await call('registry', 'POST', '/api/v1/registry/requests', {
      items: [
        { entity: 'staff', data: { id: 'X-1', institutionId: 'NOPE', role: 'clerk', filed: true, validFrom: 0, validTo: null } },
        { entity: 'institution', data: { ...NEW_STATION, id: 'Z-1', county: '999999' } },
      ],
    });
    expect(res.statusCode).toBe(422);
    expect(res.json().error.code).toBe('IMPORT_INVALID');
    expect(res.json().report.map((r: { index: number; field: string }) => [r.index, r.field])).toEqual([
      [0, 'institutionId'],
      [1, 'county'],
    ]);
    expect(await counts()).toEqual(before);
  });
});

describe('imports', () => {
  const CSV_BAD = [
    '编号,机构,角色,姓名,备案,有效期起,有效期止,准驾车型',
    'YZ-JYZ2-C01,YZ-JYZ2,业务员,梁秀英,是,2026-01-01,,',
    'YZ-JYZ2-C02,YZ-JYZ2,厨师,蒙金凤,是,2026-01-01,,',
    'YZ-JYZ2-C03,YZ-JYZ2,业务员,覃秀英,也许,2026-01-01,,',
    'YZ-JYZ2-C04,YZ-JYZ2,查验员,莫少华,是,明天,,',
    'YZ-JYZ2-C05,NOPE,查验员,韦国庆,是,2026-01-01,2026-12-31,',
  ].join('\r\n');

  it('reports bad rows by row number and imports nothing', async () => {
    const before = await counts();
    const res = await call('registry', 'POST', '/api/v1/registry/imports', { entity: 'staff', filename: '人员.csv', contentBase64: Buffer.from(`\uFEFF${CSV_BAD}`).toString('base64') });
    expect(res.statusCode, res.body).toBe(422);
    const rows = (res.json().report as { row: number; field: string }[]).map((r) => [r.row, r.field]);
    expect(rows).toEqual([
      [3, 'role'],
      [4, 'filed'],
      [5, 'validFrom'],
    ]);
    expect(await counts()).toEqual(before);
    // Once the shape is right, the cross-row check (unknown institution) is reported too.
    const fixed = CSV_BAD.replace('厨师', '业务员').replace('也许', '是').replace('明天', '2026-02-01');
    const res2 = await call('registry', 'POST', '/api/v1/registry/imports', { entity: 'staff', filename: '人员.csv', contentBase64: Buffer.from(fixed).toString('base64') });
    expect(res2.statusCode).toBe(422);
    expect(res2.json().report).toEqual([{ row: 6, field: 'institutionId', message: '机构不存在：NOPE' }]);
    expect(await counts()).toEqual(before);
  });

  it('imports a valid XLSX as ONE pending request, applied whole on approval', async () => {
    const wb = new ExcelJS.Workbook();
    const ws = wb.addWorksheet('人员');
    ws.addRow(['编号', '机构', '角色', '姓名', '备案', '有效期起', '有效期止', '准驾车型']);
    for (let i = 1; i <= 30; i++) ws.addRow([`YZ-JYZ2-I${String(i).padStart(2, '0')}`, 'YZ-JYZ2', '查验员', `宜州I${i}`, '是', '2026-01-01', i === 30 ? '2026-06-30' : '', '']);
    const buf = Buffer.from(await wb.xlsx.writeBuffer());
    const res = await call('registry', 'POST', '/api/v1/registry/imports', { entity: 'staff', filename: '人员.xlsx', contentBase64: buf.toString('base64') });
    expect(res.statusCode, res.body).toBe(201);
    expect(res.json()).toMatchObject({ kind: 'import', status: 'pending', itemCount: 30, source: 'xlsx:人员.xlsx' });
    expect(hub.registry.staff('YZ-JYZ2-I01')).toBeUndefined();
    const ok = await call('registry2', 'POST', `/api/v1/registry/requests/${res.json().id}/approve`, {});
    expect(ok.statusCode, ok.body).toBe(200);
    expect(hub.registry.listStaff().filter((s) => s.institutionId === 'YZ-JYZ2' && s.role === 'inspector')).toHaveLength(30);
    // 2026-06-30 is a local date: valid to its last millisecond in China Standard Time.
    expect(hub.registry.staff('YZ-JYZ2-I30')?.validTo).toBe(Date.UTC(2026, 5, 30, 16) - 1);
  });

  it("imports years of filings: a person's rows, one per filing period, become that person's history", async () => {
    const cst = (y: number, m: number, d: number) => Date.UTC(y, m - 1, d) - 8 * 3_600_000;
    // The register as a detachment keeps it: a row per filing, in no particular order.
    const csv = [
      '编号,机构,角色,姓名,备案,有效期起,有效期止',
      'YZ-JYZ2-H01,YZ-JYZ2,查验员,覃明,是,2022-06-01,',
      'YZ-JYZ2-H02,YZ-JYZ2,查验员,韦芳,是,2019-05-01,',
      'YZ-JYZ2-H01,YZ-JYZ2,查验员,覃明,是,2018-03-01,2020-02-29',
    ].join('\r\n');
    // The preview shows each row's version as approval will write it: the 2018 one ends in 2022.
    const preview = await call('registry', 'POST', '/api/v1/registry/imports', { entity: 'staff', filename: '备案记录.csv', contentBase64: Buffer.from(csv).toString('base64'), preview: true });
    expect(preview.statusCode, preview.body).toBe(200);
    expect((preview.json().items as { row: number; validFrom: number; validTo: number | null }[]).map((i) => [i.row, i.validFrom, i.validTo])).toEqual([
      [2, cst(2022, 6, 1), null],
      [3, cst(2019, 5, 1), null],
      [4, cst(2018, 3, 1), cst(2022, 6, 1)],
    ]);
    const res = await call('registry', 'POST', '/api/v1/registry/imports', { entity: 'staff', filename: '备案记录.csv', contentBase64: Buffer.from(csv).toString('base64') });
    expect(res.statusCode, res.body).toBe(201);
    expect(res.json().itemCount).toBe(3);
    const ok = await call('registry2', 'POST', `/api/v1/registry/requests/${res.json().id}/approve`, {});
    expect(ok.statusCode, ok.body).toBe(200);
    const v = (await call('leader', 'GET', '/api/v1/registry/staff/YZ-JYZ2-H01/versions')).json().items as { version: number; validFrom: number; validTo: number | null; data: { validTo: number | null } }[];
    // Oldest first: the 2018 filing (which ran out in 2020) until the 2022 one began, then that one, open.
    expect(v.map((x) => [x.version, x.validFrom, x.validTo, x.data.validTo])).toEqual([
      [1, cst(2018, 3, 1), cst(2022, 6, 1), cst(2020, 3, 1) - 1],
      [2, cst(2022, 6, 1), null, null],
    ]);
    // As of 2019 filed; as of 2021 filed but expired (the rules' "filing expired"); now filed again.
    expect((await hub.registry.asOf(cst(2019, 1, 1))).staff('YZ-JYZ2-H01')?.validTo).toBe(cst(2020, 3, 1) - 1);
    expect((await hub.registry.asOf(cst(2021, 1, 1))).staff('YZ-JYZ2-H01')?.validTo).toBe(cst(2020, 3, 1) - 1);
    expect((await hub.registry.asOf(cst(2017, 1, 1))).staff('YZ-JYZ2-H01')).toBeUndefined();
    expect(hub.registry.staff('YZ-JYZ2-H01')).toMatchObject({ filed: true, validTo: null });
    expect(hub.registry.staff('YZ-JYZ2-H02')).toMatchObject({ filed: true, validFrom: cst(2019, 5, 1) });
  });

  it('refuses a repeated number without filing periods to tell its rows apart', async () => {
    const before = await counts();
    const staff = ['编号,机构,角色,姓名,备案,有效期起', 'YZ-JYZ2-H03,YZ-JYZ2,查验员,甲,是,2020-01-01', 'YZ-JYZ2-H04,YZ-JYZ2,查验员,乙,是,2020-01-01', 'YZ-JYZ2-H03,YZ-JYZ2,查验员,甲,是,2020-01-01'].join('\r\n');
    const res = await call('registry', 'POST', '/api/v1/registry/imports', { entity: 'staff', filename: '人员.csv', contentBase64: Buffer.from(staff).toString('base64') });
    expect(res.statusCode, res.body).toBe(422);
    expect((res.json().report as { row: number; field: string; message: string }[]).map((r) => [r.row, r.field, r.message.split('（')[0]])).toEqual([[4, 'id', '重复：YZ-JYZ2-H03，同第 2 行']]);
    // Institutions carry no filing dates: a row without 有效期起 is the one version, so a repeat is an error.
    const inst = ['编号,名称,类型,区县,经度,纬度', 'YZ-JX9,宜州区某驾校,驾校,宜州区,108.6,24.5', 'YZ-JX9,宜州区某驾校（重复）,驾校,宜州区,108.6,24.5'].join('\r\n');
    const res2 = await call('registry', 'POST', '/api/v1/registry/imports', { entity: 'institution', filename: '机构.csv', contentBase64: Buffer.from(inst).toString('base64') });
    expect(res2.statusCode, res2.body).toBe(422);
    expect((res2.json().report as { row: number; field: string }[]).map((r) => [r.row, r.field])).toEqual([[3, 'id']]);
    expect(await counts()).toEqual(before);
  });

  it('accepts the same import as multipart CSV', async () => {
    const boundary = '----jg';
    const csv = '编号,名称,类型,区县,经度,纬度\r\nDA-JX,都安县驾驶培训学校,驾校,都安瑶族自治县,108.1,23.93\r\n';
    const body = [
      `--${boundary}`, 'Content-Disposition: form-data; name="entity"', '', 'institution',
      `--${boundary}`, 'Content-Disposition: form-data; name="file"; filename="jg.csv"', 'Content-Type: text/csv', '', csv,
      `--${boundary}--`, '',
    ].join('\r\n');
    const res = await hub.app.inject({ method: 'POST', url: '/api/v1/registry/imports', payload: body, headers: { authorization: `Bearer ${tokens.registry}`, 'content-type': `multipart/form-data; boundary=${boundary}` } });
    expect(res.statusCode, res.body).toBe(201);
    expect(res.json().items[0].data).toMatchObject({ id: 'DA-JX', type: 'driving_school', county: '451228' });
  });

  it('files institutions whose register has no coordinates; a half-given place is refused', async () => {
    const half = '编号,名称,类型,区县,经度,纬度\r\nYZ-DJZ7,宜州区某登记服务站,登记服务站,宜州区,108.6,\r\n';
    const refused = await call('registry', 'POST', '/api/v1/registry/imports', { entity: 'institution', filename: '机构.csv', contentBase64: Buffer.from(half).toString('base64') });
    expect(refused.statusCode, refused.body).toBe(422);
    expect(refused.json().report).toEqual([expect.objectContaining({ row: 2, field: 'lat', message: '经度和纬度须同时填写（或都不填）' })]);
    const csv = '编号,名称,类型,区县\r\nYZ-DJZ8,宜州区某登记服务站,机动车登记服务站,宜州区\r\n';
    const res = await call('registry', 'POST', '/api/v1/registry/imports', { entity: 'institution', filename: '机构.csv', contentBase64: Buffer.from(csv).toString('base64') });
    expect(res.statusCode, res.body).toBe(201);
    expect((await call('registry2', 'POST', `/api/v1/registry/requests/${res.json().id}/approve`, {})).statusCode).toBe(200);
    // Read back from the store (the live projection's Nullable columns), not only from memory.
    await hub.registry.reload();
    const inst = hub.registry.institution('YZ-DJZ8');
    expect(inst).toMatchObject({ id: 'YZ-DJZ8', county: '451203' });
    expect(inst).not.toHaveProperty('lon');
    const listed = (await call('registry', 'GET', '/api/v1/institutions')).json().items as Record<string, unknown>[];
    expect(listed.find((i) => i.id === 'YZ-DJZ8')).not.toHaveProperty('lat');
    const out = await call('registry', 'GET', '/api/v1/registry/institutions.csv');
    expect(out.body.split('\r\n').find((l) => l.startsWith('YZ-DJZ8,'))).toBe('YZ-DJZ8,宜州区某登记服务站,机动车登记服务站,宜州区,,,正常,,');
  });

  it('files closer checks (加强抽查) as yes or no, live for the rules, and exports them so; a word it cannot read is refused', async () => {
    const bad = '编号,名称,类型,区县,加强抽查\r\nYZ-DJZ8,宜州区某登记服务站,登记服务站,宜州区,也许\r\n';
    const refused = await call('registry', 'POST', '/api/v1/registry/imports', { entity: 'institution', filename: '机构.csv', contentBase64: Buffer.from(bad).toString('base64') });
    expect([refused.statusCode, refused.json().report]).toEqual([422, [expect.objectContaining({ row: 2, field: 'closerChecks', message: '不是是/否：也许' })]]);
    const csv = '编号,名称,类型,区县,加强抽查\r\nYZ-DJZ8,宜州区某登记服务站,登记服务站,宜州区,是\r\n';
    const res = await call('registry', 'POST', '/api/v1/registry/imports', { entity: 'institution', filename: '机构.csv', contentBase64: Buffer.from(csv).toString('base64') });
    expect(res.statusCode, res.body).toBe(201);
    expect((await call('registry2', 'POST', `/api/v1/registry/requests/${res.json().id}/approve`, {})).statusCode).toBe(200);
    await hub.registry.reload();
    expect(hub.registry.institution('YZ-DJZ8')?.closerChecks).toBe(true);
    expect(hub.registry.at(Date.now()).institution('YZ-DJZ8')?.closerChecks).toBe(true);
    const out = await call('registry', 'GET', '/api/v1/registry/institutions.csv');
    expect(out.body.split('\r\n').find((l) => l.startsWith('YZ-DJZ8,'))).toBe('YZ-DJZ8,宜州区某登记服务站,机动车登记服务站,宜州区,,,正常,,是');
  });

  it("files an institution's business hours written as words, exports them as words, and refuses words it cannot read", async () => {
    const bad = '编号,名称,类型,区县,营业时间\r\nYZ-JYZ9,宜州区某检测站,检测站,宜州区,周一至周五 8:00-17:00，周六\r\n';
    const refused = await call('registry', 'POST', '/api/v1/registry/imports', { entity: 'institution', filename: '机构.csv', contentBase64: Buffer.from(bad).toString('base64') });
    expect(refused.statusCode, refused.body).toBe(422);
    expect(refused.json().report).toEqual([expect.objectContaining({ row: 2, field: 'hours', message: expect.stringContaining('未写明周六的营业时段') })]);
    const csv = '编号,名称,类型,区县,营业时间\r\nYZ-JYZ9,宜州区某检测站,检测站,宜州区,"全年无休 8:30-12:00，下午2:00-5:30"\r\nYZ-JYZ6,宜州区第六检测站,检测站,宜州区,"周一至周五 8:00-17:00，周六上午 8:00-12:00"\r\n';
    const res = await call('registry', 'POST', '/api/v1/registry/imports', { entity: 'institution', filename: '机构.csv', contentBase64: Buffer.from(csv).toString('base64') });
    expect(res.statusCode, res.body).toBe(201);
    expect((await call('registry2', 'POST', `/api/v1/registry/requests/${res.json().id}/approve`, {})).statusCode).toBe(200);
    await hub.registry.reload();
    const hours = { workingDays: [1, 2, 3, 4, 5, 6, 7], periods: [{ start: '08:30', end: '12:00' }, { start: '14:00', end: '17:30' }], observesHolidays: false };
    // The live registry (the collectors' silence, the engine's current view) carries the filing.
    expect(hub.registry.institution('YZ-JYZ9')?.hours).toEqual(hours);
    const listed = (await call('registry', 'GET', '/api/v1/registry/institutions')).json().items as Record<string, unknown>[];
    expect(listed.find((i) => i.id === 'YZ-JYZ9')?.hours).toEqual(hours);
    const out = await call('registry', 'GET', '/api/v1/registry/institutions.csv');
    expect(out.body.split('\r\n')[0]).toMatch(/,营业时间,加强抽查$/);
    expect(out.body.split('\r\n').find((l) => l.startsWith('YZ-JYZ9,'))).toBe('YZ-JYZ9,宜州区某检测站,机动车检验机构,宜州区,,,正常,每天 08:30–12:00、14:00–17:30；法定节假日照常营业,');
    // Saturday mornings: a day with periods of its own, filed, live and exported as words.
    expect(hub.registry.institution('YZ-JYZ6')?.hours).toEqual({ workingDays: [1, 2, 3, 4, 5, 6], periods: [{ start: '08:00', end: '17:00' }], observesHolidays: true, byWeekday: [{ days: [6], periods: [{ start: '08:00', end: '12:00' }] }] });
    expect(out.body.split('\r\n').find((l) => l.startsWith('YZ-JYZ6,'))).toBe('YZ-JYZ6,宜州区第六检测站,机动车检验机构,宜州区,,,正常,周一至周五 08:00–17:00；周六 08:00–12:00；法定节假日休息,');

    // A rename from a sheet in an older template (no 营业时间 column at all) keeps the hours on file …
    const imported = async (text: string) => {
      const r = await call('registry', 'POST', '/api/v1/registry/imports', { entity: 'institution', filename: '机构.csv', contentBase64: Buffer.from(text).toString('base64') });
      expect(r.statusCode, r.body).toBe(201);
      expect((await call('registry2', 'POST', `/api/v1/registry/requests/${r.json().id}/approve`, {})).statusCode).toBe(200);
      await hub.registry.reload();
      return hub.registry.institution('YZ-JYZ9');
    };
    expect(await imported('编号,名称,类型,区县\r\nYZ-JYZ9,宜州区某检测站（更名）,检测站,宜州区\r\n')).toMatchObject({ name: '宜州区某检测站（更名）', hours });
    // … and a sheet with the column left empty clears them: the institution is back on its type's hours.
    const cleared = await imported('编号,名称,类型,区县,营业时间\r\nYZ-JYZ9,宜州区某检测站（更名）,检测站,宜州区,\r\n');
    expect(cleared).toMatchObject({ name: '宜州区某检测站（更名）' });
    expect(cleared).not.toHaveProperty('hours');
  });
  it('keeps what is on file for the columns a sheet does not have: a suspension, an expiry, classes and an identity', async () => {
    const cst = (y: number, m: number, d: number) => Date.UTC(y, m - 1, d) - 8 * 3_600_000;
    const station = { id: 'YZ-JYZ7', name: '宜州区第七检测站', type: 'inspection_station', county: '451203', status: 'suspended' };
    const person = { id: 'YZ-JYZ7-C01', institutionId: 'YZ-JYZ7', role: 'inspector', name: '蓝海', filed: true, validFrom: cst(2019, 3, 1), validTo: cst(2025, 3, 1) - 1, classes: ['C1'], idHash: HASH, idMasked: '4512**********007X' };
    const filed = await call('registry', 'POST', '/api/v1/registry/requests', { items: [{ entity: 'institution', data: station }, { entity: 'staff', data: person }] });
    expect(filed.statusCode, filed.body).toBe(201);
    expect((await call('registry2', 'POST', `/api/v1/registry/requests/${filed.json().id}/approve`, {})).statusCode).toBe(200);
    const versions = async () => (await call('leader', 'GET', '/api/v1/registry/staff/YZ-JYZ7-C01/versions')).json().items as { data: Record<string, unknown> }[];
    // The hub files the identity in its own masked form.
    const idMasked = (await versions()).at(-1)?.data.idMasked;
    expect(idMasked).toMatch(/^45\*+7X$/);
    // Another system's lists: names and filings only, no 状态, 有效期止, 准驾车型 or 身份证 columns.
    const sheets = [
      { entity: 'institution', csv: '编号,名称,类型,区县\r\nYZ-JYZ7,宜州区第七机动车检测站,检测站,宜州区\r\n' },
      { entity: 'staff', csv: '编号,机构,角色,姓名,备案,有效期起\r\nYZ-JYZ7-C01,YZ-JYZ7,查验员,蓝海,是,2019-03-01\r\n' },
    ];
    for (const { entity, csv } of sheets) {
      const body = { entity, filename: `${entity}.csv`, contentBase64: Buffer.from(csv).toString('base64') };
      // The preview shows the record as it will be filed, with what is kept.
      const preview = await call('registry', 'POST', '/api/v1/registry/imports', { ...body, preview: true });
      expect(preview.statusCode, preview.body).toBe(200);
      expect(preview.json().items[0].data).toMatchObject(entity === 'staff' ? { validTo: person.validTo, classes: ['C1'], idMasked } : { status: 'suspended' });
      const res = await call('registry', 'POST', '/api/v1/registry/imports', body);
      expect(res.statusCode, res.body).toBe(201);
      expect((await call('registry2', 'POST', `/api/v1/registry/requests/${res.json().id}/approve`, {})).statusCode).toBe(200);
    }
    await hub.registry.reload();
    // Still suspended, renamed; the expired filing still expired, with its classes and identity.
    expect(hub.registry.institution('YZ-JYZ7')).toMatchObject({ name: '宜州区第七机动车检测站', status: 'suspended' });
    expect(hub.registry.staff('YZ-JYZ7-C01')).toMatchObject({ validTo: person.validTo, classes: ['C1'], idHash: HASH });
    expect((await versions()).at(-1)?.data).toMatchObject({ idMasked });
  });
});

describe('exports', () => {
  async function roundTrip(entity: string, plural: string, format: 'csv' | 'xlsx') {
    const out = await call('registry', 'GET', `/api/v1/registry/${plural}.${format}`);
    expect(out.statusCode, out.body).toBe(200);
    const live = (await call('registry', 'GET', `/api/v1/registry/${plural}`)).json().items as Record<string, unknown>[];
    const back = await call('registry', 'POST', '/api/v1/registry/imports', { entity, filename: `${plural}.${format}`, contentBase64: out.rawPayload.toString('base64'), preview: true });
    // An empty register exports its header alone, which imports as "no data rows".
    expect(back.statusCode, `${plural}: ${back.body.slice(0, 2_000)}`).toBe(live.length ? 200 : 422);
    return { out, live, back: (live.length ? back.json() : { total: 0, items: [] }) as { total: number; items: { data: Record<string, unknown> }[] } };
  }

  it("exports the register in the import's own columns, and the file imports back to the same records", async () => {
    // A device and a red-list entry with every optional field, so each entity has rows to carry.
    const cst = (y: number, m: number, d: number) => Date.UTC(y, m - 1, d) - 8 * 3_600_000;
    const filed = await call('registry', 'POST', '/api/v1/registry/requests', {
      items: [
        { entity: 'device', data: { id: 'YZ-JYZ2-DEV1', institutionId: 'YZ-JYZ2', kind: 'inspection_instrument', name: '制动检验台', lineId: 'L1', filed: true, validFrom: cst(2021, 4, 1), validTo: cst(2027, 1, 1) - 1, calibrationValidTo: cst(2026, 12, 31) - 1 } },
        { entity: 'listing', data: { list: 'agent_red', key: 'c'.repeat(64), organisationId: 'YZ-JYZ2', scope: 'own_org', validFrom: cst(2024, 1, 1) + 9 * 3_600_000, validTo: null, note: '授权代办' } },
      ],
    });
    expect(filed.statusCode, filed.body).toBe(201);
    expect((await call('registry2', 'POST', `/api/v1/registry/requests/${filed.json().id}/approve`, {})).statusCode).toBe(200);
    const staff = await roundTrip('staff', 'staff', 'csv');
    expect(staff.out.headers['content-disposition']).toContain(encodeURIComponent('人员备案.csv'));
    const header = staff.out.body.slice(1).split('\r\n')[0];
    expect(header).toBe('编号,机构,机构名称,角色,姓名,备案,有效期起,有效期止,准驾车型,身份证哈希,身份证');
    // Names beside the codes for the reader: the institution by name, the role by its label.
    const line = staff.out.body.split('\r\n').find((l) => l.startsWith('YZ-JYZ2-H01,'))!;
    expect(line).toContain(',YZ-JYZ2,宜州区第二检测站（更名）,查验员,覃明,是,2022-06-01,');
    expect(staff.back.total).toBe(staff.live.length);
    expect(staff.back.items.map((i) => i.data)).toEqual(staff.live.slice(0, 200));
    for (const [entity, plural] of [['institution', 'institutions'], ['line', 'lines'], ['device', 'devices'], ['listing', 'listings']] as const) {
      const t = await roundTrip(entity, plural, 'xlsx');
      expect(t.live.length, plural).toBeGreaterThan(0);
      expect(t.back.total, plural).toBe(t.live.length);
      // A list entry's open end is null or absent alike (the schema's "open-ended").
      const open = (r: Record<string, unknown>) => Object.fromEntries(Object.entries(r).filter(([, v]) => v !== null));
      expect(t.back.items.map((i) => open(i.data)), plural).toEqual(t.live.slice(0, 200).map(open));
    }
  });

  it('exports as of a past time, filtered like the list', async () => {
    const cst = (y: number, m: number, d: number) => Date.UTC(y, m - 1, d) - 8 * 3_600_000;
    const old = await call('registry', 'GET', `/api/v1/registry/staff.csv?asOf=${cst(2021, 1, 1)}&institution=YZ-JYZ2`);
    expect(old.statusCode, old.body).toBe(200);
    const rows = old.body.slice(1).trim().split('\r\n');
    // In 2021 the 2018 filing answered, expired since 2020-02-29.
    expect(rows.find((r) => r.startsWith('YZ-JYZ2-H01,'))).toContain(',2018-03-01,2020-02-29,');
    expect(rows.some((r) => r.startsWith('YZ-JYZ2-I01,'))).toBe(false);
  });
});

describe('users', () => {
  it('system administrators create, change and disable users; changes end their sessions', async () => {
    const created = await call('admin', 'POST', '/api/v1/users', { username: 'nd-auditor', displayName: '南丹核查员', roles: ['auditor'], scope: '451221', password: 'nandan-pass-123' });
    expect(created.statusCode, created.body).toBe(201);
    const dup = await call('admin', 'POST', '/api/v1/users', { username: 'nd-auditor', displayName: 'x', roles: ['auditor'], password: 'nandan-pass-123' });
    expect(dup.json().error.code).toBe('USER_EXISTS');
    const badCounty = await call('admin', 'POST', '/api/v1/users', { username: 'x-auditor', displayName: 'x', roles: ['auditor'], scope: '110101', password: 'nandan-pass-123' });
    expect(badCounty.json().error.code).toBe('BODY_INVALID');
    const t = await login(hub, 'nd-auditor', 'nandan-pass-123');
    const off = await call('admin', 'PATCH', `/api/v1/users/${created.json().id}`, { active: false });
    expect(off.json().active).toBe(false);
    expect((await hub.app.inject(withToken(t, { url: '/api/v1/auth/me' }))).statusCode).toBe(401);
    const again = await hub.app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { username: 'nd-auditor', password: 'nandan-pass-123' } });
    expect(again.json().error.code).toBe('LOGIN_FAILED');
    const list = await call('admin', 'GET', '/api/v1/users');
    expect(list.json().items.find((u: { username: string }) => u.username === 'nd-auditor')).toMatchObject({ active: false, scope: '451221' });
    expect(JSON.stringify(list.json())).not.toMatch(/scrypt/);
  });
});

describe('the wall when JG_WALL_PUBLIC is off', () => {
  it('refuses a screen without a session and accepts one with a session token', async () => {
    const anon = connect(`${hub.url}/wall`, { transports: ['websocket'], forceNew: true, reconnection: false });
    const err = await new Promise<Error & { data?: { code?: string } }>((resolve) => anon.once('connect_error', resolve));
    expect(err.data?.code).toBe('AUTH_REQUIRED');
    anon.close();
    const token = await login(hub, 'wall');
    const screen = connect(`${hub.url}/wall`, { transports: ['websocket'], forceNew: true, reconnection: false, auth: { token } });
    const snapshot = await new Promise<{ counties: unknown[] }>((resolve) => screen.once('wall.snapshot', resolve));
    expect(snapshot.counties).toHaveLength(11);
    screen.close();
  });
});

describe("an approver's review of a large request", () => {
  it('compares each pending item with the register now, pages through the items and exports them all', async () => {
    const staff = (await call('registry', 'GET', '/api/v1/registry/staff')).json().items as Record<string, unknown>[];
    const institutions = (await call('registry', 'GET', '/api/v1/registry/institutions')).json().items as Record<string, unknown>[];
    const [same, renamed, retired] = staff.filter((s) => s.filed === true && s.institutionId === 'JCJ-JYZ');
    expect(retired, 'three filed staff of JCJ-JYZ in the seed').toBeDefined();
    const station = institutions.find((i) => i.id === 'JCJ-JYZ')!;
    const fresh = Array.from({ length: 150 }, (_, i) => ({
      entity: 'staff',
      data: { id: `JCJ-NEW-${String(i).padStart(3, '0')}`, institutionId: 'JCJ-JYZ', role: 'clerk', name: `新人${i}`, filed: true, validFrom: 0, validTo: null },
    }));
    const filed = await call('registry', 'POST', '/api/v1/registry/requests', {
      summary: '复核测试',
      items: [
        { entity: 'institution', data: { ...station, name: `${String(station.name)}（新址）` } },
        { entity: 'staff', data: same },
        { entity: 'staff', data: { ...renamed, name: '改名后', filed: false } },
        { entity: 'staff', op: 'retire', data: retired },
        ...fresh,
      ],
    });
    expect(filed.statusCode, filed.body).toBe(201);
    // Filing answers the first page, not the 154 items.
    expect(filed.json()).toMatchObject({ itemCount: 154, itemPage: { offset: 0, limit: 100, total: 154, entities: ['institution', 'staff'] } });
    expect(filed.json().items).toHaveLength(100);
    const id = filed.json().id as string;

    const first = await call('registry2', 'GET', `/api/v1/registry/requests/${id}`);
    expect(first.statusCode, first.body).toBe(200);
    expect(first.json().review).toEqual({ new: 150, changed: 2, same: 1, retire: 1 });
    expect(first.json().itemPage).toEqual({ offset: 0, limit: 100, total: 154, entities: ['institution', 'staff'] });
    expect(first.json().items.slice(0, 5).map((i: { index: number; change: string }) => [i.index, i.change])).toEqual([[0, 'changed'], [1, 'same'], [2, 'changed'], [3, 'retire'], [4, 'new']]);

    const changed = (await call('registry2', 'GET', `/api/v1/registry/requests/${id}?change=changed`)).json();
    expect(changed.itemPage).toEqual({ offset: 0, limit: 100, total: 2, entities: ['institution', 'staff'] });
    expect(changed.items.map((i: { index: number; changedFields: string[] }) => [i.index, i.changedFields])).toEqual([[0, ['name']], [2, ['name', 'filed']]]);
    expect(changed.items[1].before).toMatchObject({ name: renamed!.name, filed: true });

    const last = (await call('registry2', 'GET', `/api/v1/registry/requests/${id}?offset=150&limit=100`)).json();
    expect(last.items.map((i: { index: number }) => i.index)).toEqual([150, 151, 152, 153]);
    expect(last.items[3].data.id).toBe('JCJ-NEW-149');
    for (const bad of ['change=moved', 'limit=0', 'limit=1001', 'offset=-1']) {
      const r = await call('registry2', 'GET', `/api/v1/registry/requests/${id}?${bad}`);
      expect(r.statusCode, bad).toBe(400);
      expect(r.json().error.code, bad).toBe('QUERY_INVALID');
    }

    // Every item in a sheet: the comparison, the changed fields with their filed values in words.
    const sheet = await call('registry2', 'GET', `/api/v1/registry/requests/${id}/items.xlsx?entity=staff`);
    expect(sheet.statusCode, sheet.body.slice(0, 500)).toBe(200);
    expect(sheet.headers['content-disposition']).toContain(encodeURIComponent(`备案申请${id}-人员.xlsx`));
    const book = new ExcelJS.Workbook();
    await book.xlsx.load(sheet.rawPayload as unknown as ArrayBuffer);
    const ws = book.worksheets[0]!;
    const header = (ws.getRow(1).values as unknown[]).slice(1);
    expect(header.slice(0, 8)).toEqual(['序号', '操作', '比对', '变更项', '原值', '编号', '机构', '机构名称']);
    expect(header.slice(-2)).toEqual(['版本生效', '版本截止']);
    expect(ws.rowCount).toBe(1 + 153);
    const rowOf = (n: number) => Object.fromEntries(header.map((h, i) => [h, ws.getRow(n).getCell(i + 1).value]));
    expect(rowOf(2)).toMatchObject({ 序号: 2, 比对: '无变化', 编号: same!.id, 版本生效: '审批时', 版本截止: '长期' });
    expect(rowOf(3)).toMatchObject({ 序号: 3, 比对: '变更', 变更项: '姓名、备案', 原值: `姓名：${String(renamed!.name)}；备案：是`, 姓名: '改名后', 备案: '否' });
    expect(rowOf(4)).toMatchObject({ 操作: '注销', 比对: '注销' });
    expect(rowOf(154)).toMatchObject({ 序号: 154, 比对: '新增', 编号: 'JCJ-NEW-149', 机构名称: station.name });
    const csv = await call('registry2', 'GET', `/api/v1/registry/requests/${id}/items.csv?entity=institution`);
    expect(csv.statusCode).toBe(200);
    expect(csv.body.slice(1).split('\r\n')[1]).toContain(`1,新增/变更,变更,名称,名称：${String(station.name)},JCJ-JYZ,${String(station.name)}（新址）`);

    // Decided: the answer is the first page again, and the detail keeps the comparison made at
    // the decision (the fields, not the filed record), though the register may change after it.
    const rejected = await call('registry2', 'POST', `/api/v1/registry/requests/${id}/reject`, { comment: '仅测试' });
    expect(rejected.statusCode, rejected.body).toBe(200);
    expect(rejected.json().items).toHaveLength(100);
    const after = (await call('registry2', 'GET', `/api/v1/registry/requests/${id}?limit=3`)).json();
    expect(after.review).toEqual({ new: 150, changed: 2, same: 1, retire: 1 });
    expect(after.items.map((i: { index: number; change?: string }) => [i.index, i.change])).toEqual([[0, 'changed'], [1, 'same'], [2, 'changed']]);
    const keptChanges = (await call('registry2', 'GET', `/api/v1/registry/requests/${id}?change=changed`)).json();
    expect(keptChanges.items.map((i: { changedFields: string[]; before?: unknown }) => [i.changedFields, i.before])).toEqual([[['name'], undefined], [['name', 'filed'], undefined]]);
  });

  it('compares a page turn with the register as it is then: another request approved meanwhile changes the comparison', async () => {
    const staff = (await call('registry', 'GET', '/api/v1/registry/staff')).json().items as Record<string, unknown>[];
    const person = staff.find((s) => s.filed === true && s.institutionId === 'YZ-JYZ')!;
    const pending = await call('registry', 'POST', '/api/v1/registry/requests', { items: [{ entity: 'staff', data: { ...person, name: '待审改名' } }] });
    expect(pending.statusCode, pending.body).toBe(201);
    const id = pending.json().id as string;
    const page = async () => (await call('registry2', 'GET', `/api/v1/registry/requests/${id}`)).json() as { status: string; review: Record<string, number>; items: { changedFields?: string[] }[] };
    expect((await page()).items[0]!.changedFields).toEqual(['name']);
    // The same page again (kept), then the register changes under it: the next turn says so.
    expect((await page()).review).toEqual({ new: 0, changed: 1, same: 0, retire: 0 });
    const other = await call('registry', 'POST', '/api/v1/registry/requests', { items: [{ entity: 'staff', data: { ...person, name: '待审改名', filed: false } }] });
    expect((await call('registry2', 'POST', `/api/v1/registry/requests/${other.json().id}/approve`, {})).statusCode).toBe(200);
    expect((await page()).items[0]!.changedFields).toEqual(['filed']);
    // Decided: read as decided at once.
    expect((await call('registry2', 'POST', `/api/v1/registry/requests/${id}/reject`, { comment: '仅测试' })).statusCode).toBe(200);
    expect((await page()).status).toBe('rejected');
  });
});
