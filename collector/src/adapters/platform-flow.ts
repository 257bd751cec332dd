/**
 * 综合应用平台 business flows as the local sync database exports them (CSV, header row, one row per
 * business number):
 *
 *   VEH_FLOW  机动车业务流水  LSH XH YWLX YWYY HPZL HPHM CLSBDH SFZMHM SQRQ BJRQ LSZT GLBM JBR DLR DLRSFZMHM [IP MAC]
 *   DRV_FLOW  驾驶证业务流水  LSH SFZMHM DABH ZJCX YWLX YWYY SQRQ BJRQ LSZT GLBM JBR DLR DLRSFZMHM [IP MAC]
 *
 * Mapping (both):
 *   LSH → lsh · YWLX/YWYY → ywlx/ywyy (YWLX checked against the national table) · SFZMHM → subject
 *   (keyed hash, masked, birth year) · DLRSFZMHM → agent · JBR (经办人 user code) → staffId ·
 *   SQRQ → appliedAt · BJRQ → completedAt · occurredAt = BJRQ, else SQRQ · GLBM → institution
 *   (adapterOptions.institutionByCode, else the collector's) · IP/MAC when the export has them.
 *   LSZT (流水状态): 'E' 办结 → outcome 'done', 'Q' 退办 → 'refused', anything else → 'pending'.
 *   Names (XM, SYR, DLR) are dropped: the hub never needs them.
 * VEH_FLOW adds HPZL/HPHM (normalised)/CLSBDH (VIN, check digit verified) → vehicle; XH is dropped.
 * DRV_FLOW adds DABH (档案编号) → licence.numberHash and ZJCX → licence.zjcx.
 */
import type { PendingTransaction } from './types.js';
import type { Adapter, AdapterContext } from './types.js';
import {
  asRow,
  compact,
  fail,
  institutionOf,
  licenceBusiness,
  licenceClassOf,
  licenceRef,
  limit,
  mapWith,
  ordered,
  personOf,
  plateOf,
  plateType,
  required,
  text,
  timeOf,
  vehicleBusiness,
  vehicleRef,
  vinOf,
  type Row,
} from './common.js';

function outcomeOf(row: Row, completedAt: number | undefined): 'done' | 'refused' | 'pending' {
  const lszt = text(row, 'LSZT')?.toUpperCase();
  if (lszt === 'Q') return 'refused';
  if (lszt === 'E') return 'done';
  if (lszt === undefined) return completedAt === undefined ? 'pending' : 'done';
  return 'pending';
}

/** Fields both flows share. */
function common(row: Row, ctx: AdapterContext, adapter: Adapter): Omit<PendingTransaction, 'kind' | 'source' | 'ywlx'> {
  const lsh = limit('LSH', required(row, 'LSH'), 32)!;
  const appliedAt = timeOf(row, 'SQRQ', ctx);
  const completedAt = timeOf(row, 'BJRQ', ctx);
  ordered('SQRQ', appliedAt, 'BJRQ', completedAt);
  const occurredAt = completedAt ?? appliedAt;
  if (occurredAt === undefined) fail('SQRQ', 'missing (and no BJRQ)');
  const subject = personOf(row, 'SFZMHM', ctx);
  const agent = personOf(row, 'DLRSFZMHM', ctx);
  return compact({
    channel: ctx.options.channel ?? adapter.defaultChannel,
    institutionId: institutionOf(ctx, text(row, 'GLBM')),
    staffId: limit('JBR', text(row, 'JBR'), 64),
    ip: limit('IP', text(row, 'IP'), 45),
    mac: limit('MAC', text(row, 'MAC'), 17),
    lsh,
    ywyy: limit('YWYY', text(row, 'YWYY'), 8),
    subject,
    agent,
    occurredAt,
    appliedAt,
    completedAt,
    outcome: outcomeOf(row, completedAt),
  });
}

export const vehFlowAdapter: Adapter = {
  name: 'veh_flow',
  source: 'veh_flow',
  format: 'csv',
  description: '综合应用平台机动车业务流水（VEH_FLOW，同步库CSV导出）',
  requiredColumns: ['LSH', 'YWLX', 'HPZL', 'SQRQ'],
  defaultChannel: 'counter',
  map(record, ctx) {
    return mapWith(() => {
      const row = asRow(record);
      const ywlx = vehicleBusiness(row);
      if (ywlx === undefined) fail('YWLX', 'missing');
      const base = common(row, ctx, vehFlowAdapter);
      const vehicle = vehicleRef({ hpzl: plateType(row), hphm: plateOf(row), vin: vinOf(row) }, ctx);
      return [compact({ ...base, source: 'veh_flow', kind: 'vehicle' as const, ywlx, vehicle })];
    });
  },
};

export const drvFlowAdapter: Adapter = {
  name: 'drv_flow',
  source: 'drv_flow',
  format: 'csv',
  description: '综合应用平台驾驶证业务流水（DRV_FLOW，同步库CSV导出）',
  requiredColumns: ['LSH', 'SFZMHM', 'YWLX', 'SQRQ'],
  defaultChannel: 'counter',
  map(record, ctx) {
    return mapWith(() => {
      const row = asRow(record);
      const ywlx = licenceBusiness(row);
      if (ywlx === undefined) fail('YWLX', 'missing');
      if (text(row, 'SFZMHM') === undefined) fail('SFZMHM', 'missing');
      const base = common(row, ctx, drvFlowAdapter);
      const dabh = limit('DABH', text(row, 'DABH'), 32);
      if (dabh !== undefined && !/^\d{12}$/.test(dabh)) fail('DABH', `'${dabh}' is not a 12-digit 档案编号`);
      const licence = licenceRef(dabh, licenceClassOf(row), ctx);
      return [compact({ ...base, source: 'drv_flow', kind: 'licence' as const, ywlx, licence })];
    });
  },
};
