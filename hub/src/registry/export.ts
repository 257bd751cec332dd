/**
 * The register as a table (备案导出): CSV or XLSX with the import's own Chinese headers and the
 * values in the forms the import reads — labels for codes, county names, local dates — so a file
 * exported, corrected in Excel and imported again files the same records (registry.integration
 * test holds the round trip). Institution names ride along in 机构名称 columns for the person
 * reading the sheet; the import ignores them (the 机构 code decides).
 *
 * Identities go out as they are stored: 身份证哈希 in the hub form (an import keeps a hash already
 * on file for that record) and 身份证 masked; never a number.
 */
import {
  COUNTY_BY_CODE,
  dayStart,
  DEVICE_KIND_LABELS,
  formatBusinessHours,
  INSTITUTION_TYPE_LABELS,
  LIST_LABELS,
  localDate,
  localSecond,
  STAFF_ROLE_LABELS,
  type Device,
  type Institution,
  type Listing,
} from '@jianguan/rules';
import type { Column } from '../exports/table.js';
import { fieldHeader, LINE_KIND_LABELS, type Entity, type EntityData, type FiledStaff, type Line } from './entities.js';
import type { ChangeItem, ReviewedItem } from './changes.js';

const STATUS_LABELS: Readonly<Record<string, string>> = { active: '正常', suspended: '暂停' };
const yesNo = (b: boolean) => (b ? '是' : '否');

/** A start as the import reads it back: the date alone at local midnight, else date and time. */
export function startText(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return '';
  return dayStart(ms) === ms ? localDate(ms) : localSecond(ms);
}

/** An end as the import reads it back: a date stands for its last millisecond, local time. */
export function endText(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return '';
  return dayStart(ms + 1) === ms + 1 ? localDate(ms) : localSecond(ms);
}

type Cols<T> = Column<T>[];

/** The columns of one entity's export; `institutionName` names an institution by its code. */
export function registryColumns(entity: Entity, institutionName: (id: string) => string): Column<EntityData>[] {
  const named = (id: string | undefined) => (id ? institutionName(id) : '');
  switch (entity) {
    case 'institution':
      return [
        { header: '编号', value: (r) => r.id, width: 16 },
        { header: '名称', value: (r) => r.name, width: 28 },
        { header: '类型', value: (r) => INSTITUTION_TYPE_LABELS[r.type] ?? r.type, width: 14 },
        { header: '区县', value: (r) => COUNTY_BY_CODE.get(r.county)?.name ?? r.county, width: 14 },
        { header: '经度', value: (r) => r.lon ?? '' },
        { header: '纬度', value: (r) => r.lat ?? '' },
        { header: '状态', value: (r) => STATUS_LABELS[r.status] ?? r.status },
        // Empty: the institution keeps its type's (or the city's) hours.
        { header: '营业时间', value: (r) => (r.hours ? formatBusinessHours(r.hours) : ''), width: 44 },
        // Empty when never filed either way: a sheet read back files nothing new for it.
        { header: '加强抽查', value: (r) => (r.closerChecks === undefined ? '' : yesNo(r.closerChecks)) },
      ] satisfies Cols<Institution> as Column<EntityData>[];
    case 'staff':
      return [
        { header: '编号', value: (r) => r.id, width: 18 },
        { header: '机构', value: (r) => r.institutionId, width: 14 },
        { header: '机构名称', value: (r) => named(r.institutionId), width: 28 },
        { header: '角色', value: (r) => STAFF_ROLE_LABELS[r.role] ?? r.role },
        { header: '姓名', value: (r) => r.name },
        { header: '备案', value: (r) => yesNo(r.filed) },
        { header: '有效期起', value: (r) => startText(r.validFrom), width: 20 },
        { header: '有效期止', value: (r) => endText(r.validTo), width: 20 },
        { header: '准驾车型', value: (r) => (r.classes ?? []).join('、') },
        { header: '身份证哈希', value: (r) => r.idHash ?? '', width: 66 },
        { header: '身份证', value: (r) => r.idMasked ?? '', width: 20 },
      ] satisfies Cols<FiledStaff> as Column<EntityData>[];
    case 'line':
      return [
        { header: '编号', value: (r) => r.id, width: 18 },
        { header: '机构', value: (r) => r.institutionId, width: 14 },
        { header: '机构名称', value: (r) => named(r.institutionId), width: 28 },
        { header: '类型', value: (r) => LINE_KIND_LABELS[r.kind] ?? r.kind },
        { header: '名称', value: (r) => r.name, width: 20 },
        { header: '最短用时秒', value: (r) => r.minSeconds },
        { header: '日能力', value: (r) => r.dailyCapacity },
        { header: '状态', value: (r) => STATUS_LABELS[r.status] ?? r.status },
      ] satisfies Cols<Line> as Column<EntityData>[];
    case 'device':
      return [
        { header: '设备编号', value: (r) => r.id, width: 20 },
        { header: '机构', value: (r) => r.institutionId, width: 14 },
        { header: '机构名称', value: (r) => named(r.institutionId), width: 28 },
        { header: '设备类别', value: (r) => DEVICE_KIND_LABELS[r.kind] ?? r.kind, width: 14 },
        { header: '名称', value: (r) => r.name, width: 20 },
        { header: '检测线', value: (r) => r.lineId ?? '' },
        { header: '备案', value: (r) => yesNo(r.filed) },
        { header: '有效期起', value: (r) => startText(r.validFrom), width: 20 },
        { header: '有效期止', value: (r) => endText(r.validTo), width: 20 },
        { header: '检定有效期至', value: (r) => endText(r.calibrationValidTo), width: 20 },
      ] satisfies Cols<Device> as Column<EntityData>[];
    case 'listing':
      return [
        { header: '名单', value: (r) => LIST_LABELS[r.list] ?? r.list, width: 16 },
        { header: '标识', value: (r) => r.key, width: 66 },
        { header: '所属机构', value: (r) => r.organisationId ?? '', width: 14 },
        { header: '所属机构名称', value: (r) => named(r.organisationId), width: 28 },
        { header: '范围', value: (r) => (r.scope === 'own_org' ? '本机构' : '不限') },
        { header: '有效期起', value: (r) => startText(r.validFrom), width: 20 },
        { header: '有效期止', value: (r) => endText(r.validTo), width: 20 },
        { header: '备注', value: (r) => r.note, width: 30 },
      ] satisfies Cols<Listing> as Column<EntityData>[];
  }
}

/** One item of a change request as a sheet row: the item, where its version starts and ends. */
export interface RequestItemRow {
  it: ChangeItem & Partial<ReviewedItem>;
  /** The version's start; null = on approval. */
  start: number | null;
  /** The version's exclusive end; null = open. */
  end: number | null;
}

const CHANGE_LABELS: Readonly<Record<string, string>> = { new: '新增', changed: '变更', same: '无变化', retire: '注销' };

/**
 * A request's items of one entity as the approver reads them: its comparison with the register
 * now (pending requests), the changed fields and their filed values in the export's own forms,
 * then the record in the import's columns and the version's validity.
 */
export function requestItemColumns(entity: Entity, institutionName: (id: string) => string): Column<RequestItemRow>[] {
  const record = registryColumns(entity, institutionName);
  const byHeader = new Map(record.map((c) => [c.header, c]));
  const header = (f: string) => fieldHeader(entity, f);
  return [
    { header: '序号', value: (r) => (r.it.index ?? 0) + 1 },
    { header: '操作', value: (r) => (r.it.op === 'retire' ? '注销' : '新增/变更') },
    { header: '比对', value: (r) => (r.it.change ? CHANGE_LABELS[r.it.change] : ''), width: 12 },
    { header: '变更项', value: (r) => (r.it.changedFields ?? []).map(header).join('、'), width: 20 },
    {
      header: '原值',
      width: 40,
      value: (r) => {
        const before = r.it.before;
        if (!before) return '';
        return (r.it.changedFields ?? [])
          .map((f) => {
            const col = byHeader.get(header(f));
            const v = col ? col.value(before) : (before as unknown as Record<string, unknown>)[f];
            return `${header(f)}：${v === undefined || v === null || v === '' ? '（空）' : String(v)}`;
          })
          .join('；');
      },
    },
    ...record.map((c): Column<RequestItemRow> => ({ ...c, value: (r) => c.value(r.it.data) })),
    { header: '版本生效', value: (r) => (r.start === null ? '审批时' : startText(r.start)), width: 20 },
    { header: '版本截止', value: (r) => (r.end === null ? '长期' : localDate(r.end - 1)), width: 14 },
  ];
}
