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
import { LINE_KIND_LABELS, type Entity, type EntityData, type FiledStaff, type Line } from './entities.js';

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
        { header: '经度', value: (r) => r.lon },
        { header: '纬度', value: (r) => r.lat },
        { header: '状态', value: (r) => STATUS_LABELS[r.status] ?? r.status },
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
