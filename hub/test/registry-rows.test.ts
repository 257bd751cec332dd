/**
 * The import's reading of spreadsheet rows (registry/entities.ts), without a hub: the date forms
 * people and other systems write, the header found below a title, the columns read past; and an
 * item of a change request compared with the record filed now (registry/changes.ts changedFields).
 */
import { describe, expect, it } from 'vitest';
import { changedFields } from '../src/registry/changes.js';
import { fieldHeader, keptGroups, locateHeader, rowsToRecords, sheetFields, withFiledFields, type EntityData } from '../src/registry/entities.js';

const HEADER = ['编号', '机构', '角色', '姓名', '备案', '有效期起', '有效期止'];
const cst = (y: number, m: number, d: number, h = 0, mi = 0, s = 0) => Date.UTC(y, m - 1, d, h, mi, s) - 8 * 3_600_000;

function staffWith(validFrom: string, validTo = '') {
  return rowsToRecords('staff', [HEADER, ['S1', 'JCJ-JYZ', '查验员', '甲', '是', validFrom, validTo]]);
}

describe('dates', () => {
  it('reads the forms people and other systems write, as China time', () => {
    const forms: [string, number][] = [
      ['2019-03-01', cst(2019, 3, 1)],
      ['2019/3/1', cst(2019, 3, 1)],
      ['2019.3.1', cst(2019, 3, 1)],
      ['2019年3月1日', cst(2019, 3, 1)],
      ['2019 年 03 月 01 日', cst(2019, 3, 1)],
      ['2019年3月1日 08:30', cst(2019, 3, 1, 8, 30)],
      ['20190301', cst(2019, 3, 1)],
      ['20190301083015', cst(2019, 3, 1, 8, 30, 15)],
      ['2019-03-01 08:30:15', cst(2019, 3, 1, 8, 30, 15)],
    ];
    for (const [text, ms] of forms) {
      const r = staffWith(text);
      expect(r.errors, text).toEqual([]);
      expect(r.records[0], text).toMatchObject({ validFrom: ms });
    }
    // An end date counts to the end of its day, in any of the forms.
    expect(staffWith('2019-03-01', '2020年2月29日').records[0]).toMatchObject({ validTo: cst(2020, 3, 1) - 1 });
    expect(staffWith('2019-03-01', '20200229').records[0]).toMatchObject({ validTo: cst(2020, 3, 1) - 1 });
  });

  it('refuses dates that do not exist or carry more, and names a lost Excel date format', () => {
    for (const text of ['2019年2月30日', '20190230', '2019-03-01abc', '2019-03-01 后', '2019年3月1日后', '2019-03-01T00:00:00.000Z', '201903', '明天']) {
      expect(staffWith(text).errors, text).toEqual([{ row: 2, field: 'validFrom', message: `不是日期：${text}` }]);
    }
    expect(staffWith('43525').errors[0]?.message).toContain('Excel 的日期序号');
  });
});

describe('header and columns', () => {
  it('finds the header below a title and notes, and keeps row 1 when no row names two columns', () => {
    expect(locateHeader('staff', [HEADER])).toBe(0);
    expect(locateHeader('staff', [['河池市机动车检验机构人员备案表', '', ''], ['填报单位：某站'], [], HEADER])).toBe(3);
    expect(locateHeader('staff', [['id', 'name', 'institutionId']])).toBe(0);
    expect(locateHeader('staff', [['标题'], ['id', 'institutionId', 'role']])).toBe(1);
    expect(locateHeader('staff', [['标题'], ['说明'], ['编号']])).toBe(0);
  });

  it('reads past the name columns the export writes beside the codes', () => {
    const r = rowsToRecords('staff', [
      ['编号', '机构', '机构名称', '角色', '姓名', '备案', '有效期起'],
      ['S1', 'JCJ-JYZ', '随便写的名字', '查验员', '甲', '是', '2020-01-01'],
    ]);
    expect(r.errors).toEqual([]);
    expect(r.records[0]).toMatchObject({ institutionId: 'JCJ-JYZ' });
    expect(r.records[0]).not.toHaveProperty('机构名称');
  });

  it('numbers rows as the sheet does, blank rows counted', () => {
    const r = rowsToRecords('staff', [HEADER, ['S1', 'JCJ-JYZ', '查验员', '甲', '是', '2020-01-01'], [], [''], ['S2', 'JCJ-JYZ', '查验员', '乙', '是', '2020-01-01']]);
    expect(r.rows).toEqual([2, 5]);
  });
});

describe("a request item against the filed record (the approver's review)", () => {
  it('names the fields whose values differ; blank and absent are alike; lists compare by value', () => {
    const filed = { id: 'S1', name: '覃明', filed: true, classes: ['C1'], validTo: null, idHash: 'h' };
    expect(changedFields(filed, { ...filed })).toEqual([]);
    // An export written back: an optional column left empty, the list as a new array.
    expect(changedFields(filed, { id: 'S1', name: '覃明', filed: true, classes: ['C1'], validTo: undefined, idHash: 'h' })).toEqual([]);
    expect(changedFields({ id: 'S1', classes: [] }, { id: 'S1', note: '' })).toEqual([]);
    expect(changedFields(filed, { ...filed, name: '覃明明', classes: ['C1', 'C2'], filed: false })).toEqual(['name', 'filed', 'classes']);
    // A field the item drops, and one it adds, both count.
    expect(changedFields(filed, { id: 'S1', name: '覃明', filed: true, classes: ['C1'], validTo: null, note: '新' })).toEqual(['note', 'idHash']);
    expect(changedFields({ lon: 108.6 }, { lon: 108.60000001 })).toEqual(['lon']);
  });

  it('names a field by its import header', () => {
    expect(fieldHeader('staff', 'institutionId')).toBe('机构');
    expect(fieldHeader('device', 'id')).toBe('编号');
    expect(fieldHeader('listing', 'organisationId')).toBe('所属机构');
    expect(fieldHeader('staff', 'somethingElse')).toBe('somethingElse');
  });
});

describe('coded fields in words', () => {
  const INST = ['编号', '名称', '类型', '区县', '经度', '纬度', '状态'];
  it('reads the names registers use for institution types besides the system labels', () => {
    const r = rowsToRecords('institution', [INST, ['A', '甲站', '检测站', '宜州区', '108.6', '24.5', '正常'], ['B', '乙校', '驾驶培训学校', '宜州区', '108.6', '24.5', '正常'], ['C', '丙', '车管所', '宜州区', '108.6', '24.5', '正常']]);
    expect(r.errors).toEqual([]);
    expect(r.records.map((x) => (x as { type: string }).type)).toEqual(['inspection_station', 'driving_school', 'vehicle_office']);
  });

  it('offers the labels, not the codes, for a value it cannot read', () => {
    const r = rowsToRecords('institution', [INST, ['A', '甲站', '加油站', '宜州区', '', '', '停业']]);
    const by = Object.fromEntries(r.errors.map((e) => [e.field, e.message]));
    expect(by.type).toBe('取值无效：加油站（可选：车管所、车管分所、机动车登记服务站、汽车销售企业、机动车检验机构、驾校、考场、体检医院、邮政网点）');
    expect(by.status).toBe('取值无效：停业（可选：正常、暂停）');
    const staff = rowsToRecords('staff', [HEADER, ['S1', 'JCJ-JYZ', '引车员', '甲', '是', '2019-03-01', '']]);
    expect(staff.errors).toEqual([{ row: 2, field: 'role', message: expect.stringMatching(/^取值无效：引车员（可选：[^a-z]*查验员[^a-z]*）$/) }]);
  });

  it('reads what clerks write: short county names, full-width digits and dates, ticks, their own row-number and notes columns', () => {
    const r = rowsToRecords('institution', [
      ['序号', '编号', '名称', '类型', '区县', '经度', '纬度', '状态', '加强抽查', '备注'],
      ['1', 'A', '甲站', '检测站', '巴马县', '１０７．２６', '２４．１４', '正常', '√', '老站'],
      ['2', 'B', '乙站', '检测站', '河池市金城江区', '108.04', '24.69', '正常', '×', ''],
      ['3', 'C', '丙站', '检测站', '环江毛南族自治县', '108.26', '24.83', '正常', '', ''],
    ]);
    expect(r.errors).toEqual([]);
    expect(r.records.map((x) => { const i = x as { county: string; lon?: number; closerChecks?: boolean }; return [i.county, i.lon, i.closerChecks]; })).toEqual([
      ['451227', 107.26, true],
      ['451202', 108.04, false],
      ['451226', 108.26, undefined],
    ]);
    expect(staffWith('２０１９年３月５日', '2020／3／5').records[0]).toMatchObject({ validFrom: cst(2019, 3, 5), validTo: cst(2020, 3, 6) - 1 });
    // A list's 备注 is its note, not a column read past; a misspelt header is still refused.
    const list = rowsToRecords('listing', [['名单', '标识', '备注'], ['查验黑名单', 'LFV2A21K0A3000001', '套牌嫌疑']]);
    expect(list.records[0]).toMatchObject({ note: '套牌嫌疑' });
    expect(rowsToRecords('institution', [['编号', '名称', '类型', '区县', '备住'], ['A', '甲站', '检测站', '宜州区', 'x']]).errors).toEqual([{ row: 1, field: '备住', message: '未知列：备住' }]);
    // A county it cannot read names the ones it can; an unreadable longitude is not also "the pair half filled".
    const bad = rowsToRecords('institution', [INST, ['D', '丁站', '检测站', '巴马', 'abc', '24.5', '正常']]);
    expect(bad.errors).toEqual([
      { row: 2, field: 'county', message: expect.stringMatching(/^取值无效：巴马（可选：金城江区、宜州区、.*巴马瑶族自治县.*）$/) },
      { row: 2, field: 'lon', message: '不是数字：abc' },
    ]);
  });

  it('files an institution without coordinates (no columns, or empty cells), but not with one of the two', () => {
    const none = rowsToRecords('institution', [['编号', '名称', '类型', '区县'], ['A', '甲站', '检测站', '宜州区']]);
    expect(none.errors).toEqual([]);
    expect(none.records[0]).not.toHaveProperty('lon');
    const empty = rowsToRecords('institution', [INST, ['B', '乙站', '检测站', '宜州区', '', '', '正常']]);
    expect(empty.errors).toEqual([]);
    expect(empty.records[0]).not.toHaveProperty('lat');
    const half = rowsToRecords('institution', [INST, ['C', '丙站', '检测站', '宜州区', '108.6', '', '正常']]);
    expect(half.errors).toEqual([{ row: 2, field: 'lat', message: '经度和纬度须同时填写（或都不填）' }]);
  });

  it("reads an institution's business hours from words, and names the row and the words it cannot read", () => {
    const head = ['编号', '名称', '类型', '区县', '营业时间'];
    const r = rowsToRecords('institution', [
      head,
      ['A', '甲站', '检测站', '宜州区', '周一至周六 8:30-12:00，14:00-17:30，节假日照常营业'],
      ['B', '乙站', '检测站', '宜州区', ''],
      ['C', '丙站', '检测站', '宜州区', '周一至周五 8:00-17:00，周六'],
      ['D', '丁站', '检测站', '宜州区', '看心情'],
      ['E', '戊站', '检测站', '宜州区', '周一至周五 8:00-17:00，周六 8:00-12:00'],
    ]);
    expect(r.records[0]).toMatchObject({ id: 'A', hours: { workingDays: [1, 2, 3, 4, 5, 6], periods: [{ start: '08:30', end: '12:00' }, { start: '14:00', end: '17:30' }], observesHolidays: false } });
    // An empty cell: the institution keeps its type's hours.
    expect(r.records[1]).not.toHaveProperty('hours');
    // Saturday mornings: a day with periods of its own.
    expect(r.records.find((x) => (x as { id: string }).id === 'E')).toMatchObject({ id: 'E', hours: { workingDays: [1, 2, 3, 4, 5, 6], periods: [{ start: '08:00', end: '17:00' }], byWeekday: [{ days: [6], periods: [{ start: '08:00', end: '12:00' }] }] } });
    expect(r.errors).toEqual([
      { row: 4, field: 'hours', message: expect.stringContaining('未写明周六的营业时段') },
      { row: 5, field: 'hours', message: expect.stringContaining('看不懂「看心情」') },
    ]);
  });
});

describe('fields a sheet has no column for', () => {
  const kept = (entity: Parameters<typeof keptGroups>[0], header: string[], row: string[], filed: object | undefined) => {
    const r = rowsToRecords(entity, [header, row]);
    expect(r.errors).toEqual([]);
    return withFiledFields(r.records[0]!, keptGroups(entity, sheetFields(entity, header)), filed as EntityData | undefined) as unknown as Record<string, unknown>;
  };
  const FILED_STAFF = { id: 'S1', institutionId: 'JCJ-JYZ', role: 'inspector', name: '覃明', filed: true, validFrom: cst(2019, 3, 1), validTo: cst(2025, 2, 28, 23, 59, 59), classes: ['C1'], idHash: 'a'.repeat(64), idMasked: '4512**********001X' };

  it("keeps what is on file: a staff member's name, expiry, classes and identity from a sheet of the filings alone", () => {
    const head = ['编号', '机构', '角色', '备案', '有效期起'];
    // Without the carry-over the expired filing would come back open-ended and nameless.
    expect(kept('staff', head, ['S1', 'JCJ-JYZ', '查验员', '是', '2019-03-01'], FILED_STAFF)).toEqual(FILED_STAFF);
    // Nothing on file: the sheet's record as read.
    expect(kept('staff', head, ['S1', 'JCJ-JYZ', '查验员', '是', '2019-03-01'], undefined)).toEqual({ id: 'S1', institutionId: 'JCJ-JYZ', role: 'inspector', name: '', filed: true, validFrom: cst(2019, 3, 1), validTo: null });
  });

  it('lets a renewal end anew, an identity number file a new identity, and an empty column clear', () => {
    // A new 有效期起 is a new filing: the old filing's end is not its end.
    const renewed = kept('staff', ['编号', '机构', '角色', '备案', '有效期起'], ['S1', 'JCJ-JYZ', '查验员', '是', '2025-03-01'], FILED_STAFF);
    expect(renewed).toMatchObject({ validFrom: cst(2025, 3, 1), validTo: null, name: '覃明', classes: ['C1'] });
    // An identity number column speaks for the hash and the masked form.
    const ided = kept('staff', ['编号', '机构', '角色', '备案', '有效期起', '身份证号码'], ['S1', 'JCJ-JYZ', '查验员', '是', '2019-03-01', '452701199001010011'], FILED_STAFF);
    expect(ided).not.toHaveProperty('idHash');
    expect(ided).toMatchObject({ idNumber: '452701199001010011', classes: ['C1'] });
    // Columns present and empty: the sheet says so.
    const emptied = kept('staff', ['编号', '机构', '角色', '姓名', '备案', '有效期起', '有效期止', '准驾车型'], ['S1', 'JCJ-JYZ', '查验员', '', '是', '2019-03-01', '', ''], FILED_STAFF);
    expect(emptied).toMatchObject({ name: '', validTo: null });
    expect(emptied).not.toHaveProperty('classes');
  });

  it("keeps a suspension, a place and hours on file; a field absent on file stays absent", () => {
    const filed = { id: 'A', name: '甲站', type: 'inspection_station', county: '451203', lon: 108.6, lat: 24.5, status: 'suspended', hours: { workingDays: [1, 2, 3, 4, 5], periods: [{ start: '08:00', end: '17:00' }], observesHolidays: true } };
    expect(kept('institution', ['编号', '名称', '类型', '区县'], ['A', '甲站（更名）', '检测站', '宜州区'], filed)).toEqual({ ...filed, name: '甲站（更名）' });
    const { lon: _lon, lat: _lat, ...placeless } = filed;
    expect(kept('institution', ['编号', '名称', '类型', '区县', '状态'], ['A', '甲站', '检测站', '宜州区', '正常'], placeless)).toEqual({ ...placeless, status: 'active' });
    // A line's suspension, a device's calibration and line, a list entry's organisation and dates.
    expect(kept('line', ['编号', '机构', '类型', '名称', '最短用时秒', '日能力'], ['L1', 'A', '检测线', '1号线', '300', '120'], { id: 'L1', institutionId: 'A', kind: 'inspection_line', name: '1号线', minSeconds: 300, dailyCapacity: 120, status: 'suspended' })).toMatchObject({ status: 'suspended' });
    const device = { id: 'D1', institutionId: 'A', kind: 'check_camera', name: '1号工位', lineId: 'L1', filed: true, validFrom: cst(2020, 1, 1), validTo: cst(2027, 1, 1), calibrationValidTo: cst(2026, 6, 30) };
    expect(kept('device', ['编号', '机构', '类别', '备案', '有效期起'], ['D1', 'A', 'check_camera', '是', '2020-01-01'], device)).toEqual(device);
    const listing = { list: 'agent_red', key: 'b'.repeat(64), organisationId: 'A', scope: 'own_org', validFrom: cst(2024, 1, 1), validTo: cst(2026, 12, 31), note: '授权代办' };
    expect(kept('listing', ['名单', '标识'], ['agent_red', 'b'.repeat(64)], listing)).toEqual(listing);
  });
});
