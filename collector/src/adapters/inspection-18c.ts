/**
 * Inspection-station supervision interface (机动车安全技术检验监管系统, 18Cxx), one JSON event per
 * line as the station's upload log or relay writes it. Every event carries the envelope
 * `jkid` (interface id), `jylsh` (检验流水号), `jyjgbh` (检验机构编号), `jcxdh` (检测线代号),
 * `jycs` (检验次数, default 1) and usually hpzl / hphm / clsbdh.
 *
 *   18C52  test start      kssj, jylb (检验类别), ycy (引车员), jyy/jyysfzh, jqxyxqz (交强险有效期止)
 *   18C55  item start      jyxm (检验项目), kssj, gwjysbbh (工位设备), sbjdyxqz (设备检定有效期止), jyy/jyysfzh
 *   18C58  item end        jyxm, jssj
 *   18C63  photo           zpzl (照片种类), pssj (拍摄时间), zp (base64 JPEG) or zpsha256
 *   18C80  manual results  wgjcjyy / wgjcjyysfzh (外观检验员)
 *   18C81  device results  measured values (制动率, 不平衡率, 发光强度, 侧滑量 …) as numbers
 *   18C82  chassis/road    measured values
 *   18C83  conclusion      jyjl: '1' 合格 → pass, '2' 不合格 → fail
 *   18C59  test end        jssj
 *
 * Output, following the rule pack's conventions (rules/src/model/transaction.ts):
 *   - 18C55 + 18C58 → one ITEM record: kind 'inspection', measurements.filedMinSeconds (the filed
 *     minimum for the item — from adapterOptions.itemMinSeconds, else the suggestions below, else
 *     0) and calibrationValidTo when reported; deviceId = gwjysbbh; subLsh = `${jycs}:${jyxm}`.
 *   - 18C52 + 18C59 → one WHOLE-TEST record: measurements = every numeric value of 18C81/18C82
 *     (keys as sent; judgement flags *pd dropped) + insuranceValidTo (0 when blank: no policy
 *     found) + photoTakenAt (the photo time furthest outside the test window, else the first);
 *     evidence = photo SHA-256 hashes (18C63); outcome from 18C83; staffId = 外观检验员, else the
 *     18C52 检验员/引车员; ywlx 'A' for 注册登记检验 (jylb 00), else 'P' (核发检验合格标志).
 * Open tests and items live in the adapter state (pseudonymised only), persisted with the read
 * position; a repeated identical start event is ignored (stations re-send), an end without a
 * start is rejected, and pairs open longer than maxOpenMs are dropped (counted in `dropped`).
 */
import crypto from 'node:crypto';
import type { VehicleRef } from '@jianguan/rules';
import { asRow, compact, fail, institutionOf, limit, mapWith, numberOf, ordered, plateOf, plateType, required, staffHashOf, text, timeOf, vehicleRef, vinOf, type Row } from './common.js';
import type { Adapter, AdapterContext, PendingTransaction } from './types.js';

interface OpenTest {
  line: string;
  institutionId: string;
  lsh: string;
  jycs: number;
  ywlx: string;
  vehicle?: VehicleRef;
  startedAt: number;
  staffId?: string;
  staffIdHash?: string;
  insuranceValidTo: number;
  measurements: Record<string, number>;
  photos: { hash: string; at?: number }[];
  outcome?: 'pass' | 'fail';
  /** 外观检验员 from 18C80 (preferred as staffId). */
  manualStaffId?: string;
  manualStaffIdHash?: string;
}

interface OpenItem {
  line: string;
  institutionId: string;
  lsh: string;
  jycs: number;
  jyxm: string;
  ywlx?: string;
  vehicle?: VehicleRef;
  startedAt: number;
  deviceId?: string;
  staffId?: string;
  staffIdHash?: string;
  calibrationValidTo?: number;
}

export interface Inspection18cState {
  tests: Record<string, OpenTest>;
  items: Record<string, OpenItem>;
  /** Open tests/items dropped because they never ended within maxOpenMs. */
  dropped: number;
}

/**
 * Suggested filed minimum seconds per inspection item [sugg] — a deployment should configure the
 * filed values per line and device (adapterOptions.itemMinSeconds).
 */
export const SUGGESTED_ITEM_MIN_SECONDS: Readonly<Record<string, number>> = {
  F1: 90, // 外观检验
  C1: 60, // 底盘检验
  DC: 30, // 底盘动态检验
  R1: 60, // 路试
  B1: 15, // 一轴制动
  B2: 15, // 二轴制动
  B3: 15, // 三轴制动
  B0: 10, // 驻车制动
  H1: 15, // 左外灯
  H4: 15, // 右外灯
  S1: 10, // 车速表
  A1: 5, // 侧滑
  M1: 30, // 外廓尺寸
  Z1: 15, // 整备质量
};

/** Envelope and identity fields of result events that are not measurements. */
const NOT_MEASUREMENTS = new Set([
  'jkid', 'jylsh', 'jyjgbh', 'jcxdh', 'jycs', 'hpzl', 'hphm', 'clsbdh', 'jyxm', 'kssj', 'jssj', 'pssj', 'jyjl', 'jylb',
  'gwjysbbh', 'ycy', 'jyy', 'wgjcjyy', 'bz', 'jqxyxqz', 'sbjdyxqz', 'zpzl', 'zp', 'zpsha256', 'sj',
]);

const keyOf = (lsh: string, jycs: number): string => `${lsh}:${jycs}`;

function jycsOf(row: Row): number {
  const n = numberOf(row, 'jycs') ?? 1;
  if (!Number.isInteger(n) || n < 1 || n > 99) fail('jycs', `'${n}' is not a 检验次数`);
  return n;
}

function vehicleOf(row: Row, ctx: AdapterContext): VehicleRef | undefined {
  return vehicleRef({ hpzl: plateType(row, 'hpzl'), hphm: plateOf(row, 'hphm'), vin: vinOf(row, 'clsbdh') }, ctx, 'hpzl');
}

function evict(state: Inspection18cState, at: number, maxOpenMs: number): void {
  for (const [k, t] of Object.entries(state.tests)) {
    if (t.startedAt < at - maxOpenMs) {
      delete state.tests[k];
      state.dropped += 1;
    }
  }
  for (const [k, i] of Object.entries(state.items)) {
    if (i.startedAt < at - maxOpenMs) {
      delete state.items[k];
      state.dropped += 1;
    }
  }
}

function photoHash(row: Row): string {
  const given = text(row, 'zpsha256');
  if (given !== undefined) {
    if (!/^[0-9a-fA-F]{64}$/.test(given)) fail('zpsha256', 'is not a SHA-256 hex digest');
    return given.toLowerCase();
  }
  const zp = text(row, 'zp');
  if (zp === undefined) fail('zp', 'missing (and no zpsha256)');
  if (!/^[A-Za-z0-9+/=\s]+$/.test(zp)) fail('zp', 'is not base64');
  const bytes = Buffer.from(zp, 'base64');
  if (bytes.length === 0) fail('zp', 'is empty');
  return crypto.createHash('sha256').update(bytes).digest('hex');
}

function minSeconds(ctx: AdapterContext, line: string, jyxm: string): number {
  const o = ctx.options.itemMinSeconds;
  return o?.[`${line}:${jyxm}`] ?? o?.[jyxm] ?? SUGGESTED_ITEM_MIN_SECONDS[jyxm] ?? 0;
}

/** The photo time least consistent with the test window (rules compare photoTakenAt with it). */
function pickPhotoTime(t: OpenTest, endedAt: number): number | undefined {
  const times = t.photos.map((p) => p.at).filter((x): x is number => x !== undefined);
  if (times.length === 0) return undefined;
  let worst = times[0]!;
  let worstBy = 0;
  for (const at of times) {
    const by = at < t.startedAt ? t.startedAt - at : at > endedAt ? at - endedAt : 0;
    if (by > worstBy) {
      worst = at;
      worstBy = by;
    }
  }
  return worst;
}

function measurementsOf(row: Row, into: Record<string, number>): void {
  for (const [k, v] of Object.entries(row)) {
    const key = k.toLowerCase();
    if (NOT_MEASUREMENTS.has(key) || key.endsWith('pd') || key.endsWith('sfzh')) continue;
    const n = typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v.trim()) : Number.NaN;
    if (Number.isFinite(n)) into[key] = n;
  }
}

export const inspection18cAdapter: Adapter<Inspection18cState> = {
  name: '18c',
  source: '18c',
  format: 'jsonl',
  description: '机动车检验监管接口18C事件（检验开始/结束、项目开始/结束、照片、检验结果）',
  defaultChannel: 'institution',
  initialState: () => ({ tests: {}, items: {}, dropped: 0 }),
  describeState: (s) => ({ openTests: Object.keys(s.tests).length, openItems: Object.keys(s.items).length, dropped: s.dropped }),
  map(record, ctx, state) {
    return mapWith(() => {
      const row = asRow(record);
      const jkid = required(row, 'jkid').toUpperCase();
      const lsh = limit('jylsh', required(row, 'jylsh'), 32)!;
      const jycs = jycsOf(row);
      const key = keyOf(lsh, jycs);
      const line = limit('jcxdh', text(row, 'jcxdh'), 32);
      const channel = ctx.options.channel ?? inspection18cAdapter.defaultChannel;
      switch (jkid) {
        case '18C52': {
          const startedAt = timeOf(row, 'kssj', ctx) ?? fail('kssj', 'missing');
          evict(state, startedAt, ctx.options.maxOpenMs);
          const open = state.tests[key];
          if (open) {
            if (open.startedAt === startedAt) return []; // re-sent start
            fail('jkid', `18C52 again for open test ${key} with a different kssj`);
          }
          if (line === undefined) fail('jcxdh', 'missing');
          const jqx = text(row, 'jqxyxqz');
          const vehicle = vehicleOf(row, ctx);
          state.tests[key] = compact({
            line,
            institutionId: institutionOf(ctx, text(row, 'jyjgbh')),
            lsh,
            jycs,
            ywlx: text(row, 'jylb') === '00' ? 'A' : 'P',
            vehicle,
            startedAt,
            staffId: limit('jyy', text(row, 'jyy', 'ycy'), 64),
            staffIdHash: staffHashOf(row, text(row, 'jyy') !== undefined ? 'jyysfzh' : 'ycysfzh', ctx),
            // 0 = no compulsory insurance policy found (the rule reads 0 as "none").
            insuranceValidTo: jqx === undefined ? 0 : (timeOf(row, 'jqxyxqz', ctx) ?? 0),
            measurements: {},
            photos: [],
          }) as OpenTest;
          return [];
        }
        case '18C55': {
          const jyxm = required(row, 'jyxm').toUpperCase();
          const startedAt = timeOf(row, 'kssj', ctx) ?? fail('kssj', 'missing');
          evict(state, startedAt, ctx.options.maxOpenMs);
          const ikey = `${key}:${jyxm}`;
          const open = state.items[ikey];
          if (open) {
            if (open.startedAt === startedAt) return [];
            fail('jkid', `18C55 again for open item ${ikey} with a different kssj`);
          }
          const test = state.tests[key];
          const itemLine = line ?? test?.line ?? fail('jcxdh', 'missing');
          const calib = text(row, 'sbjdyxqz');
          state.items[ikey] = compact({
            line: itemLine,
            institutionId: test?.institutionId ?? institutionOf(ctx, text(row, 'jyjgbh')),
            lsh,
            jycs,
            jyxm,
            ywlx: test?.ywlx,
            vehicle: test?.vehicle ?? vehicleOf(row, ctx),
            startedAt,
            deviceId: limit('gwjysbbh', text(row, 'gwjysbbh'), 64),
            staffId: limit('jyy', text(row, 'jyy'), 64),
            staffIdHash: staffHashOf(row, 'jyysfzh', ctx),
            calibrationValidTo: calib === undefined ? undefined : timeOf(row, 'sbjdyxqz', ctx),
          }) as OpenItem;
          return [];
        }
        case '18C58': {
          const jyxm = required(row, 'jyxm').toUpperCase();
          const endedAt = timeOf(row, 'jssj', ctx) ?? fail('jssj', 'missing');
          const ikey = `${key}:${jyxm}`;
          const item = state.items[ikey];
          if (!item) fail('jkid', `18C58 without an open 18C55 for ${ikey}`);
          ordered('kssj', item.startedAt, 'jssj', endedAt);
          delete state.items[ikey];
          const measurements: Record<string, number> = { filedMinSeconds: minSeconds(ctx, item.line, jyxm) };
          if (item.calibrationValidTo !== undefined) measurements.calibrationValidTo = item.calibrationValidTo;
          const out: PendingTransaction = compact({
            source: '18c',
            channel,
            institutionId: item.institutionId,
            counter: item.line,
            staffId: item.staffId,
            staffIdHash: item.staffIdHash,
            deviceId: item.deviceId,
            lsh: item.lsh,
            subLsh: `${item.jycs}:${jyxm}`,
            kind: 'inspection' as const,
            ywlx: item.ywlx,
            vehicle: item.vehicle,
            occurredAt: endedAt,
            startedAt: item.startedAt,
            endedAt,
            measurements,
          });
          return [out];
        }
        case '18C63': {
          const test = state.tests[key] ?? fail('jkid', `18C63 photo without an open test ${key}`);
          const hash = photoHash(row);
          if (test.photos.length >= 64) fail('zp', `test ${key} already has 64 photos`);
          if (!test.photos.some((p) => p.hash === hash)) {
            const at = timeOf(row, 'pssj', ctx);
            test.photos.push(at === undefined ? { hash } : { hash, at });
          }
          return [];
        }
        case '18C80':
        case '18C81':
        case '18C82':
        case '18C83': {
          const test = state.tests[key] ?? fail('jkid', `${jkid} result without an open test ${key}`);
          if (jkid === '18C80') {
            const wg = limit('wgjcjyy', text(row, 'wgjcjyy'), 64);
            if (wg !== undefined) test.manualStaffId = wg;
            const wgHash = staffHashOf(row, 'wgjcjyysfzh', ctx);
            if (wgHash !== undefined) test.manualStaffIdHash = wgHash;
          } else if (jkid === '18C83') {
            const jyjl = required(row, 'jyjl');
            if (jyjl !== '1' && jyjl !== '2') fail('jyjl', `'${jyjl}' is not 1 (合格) or 2 (不合格)`);
            test.outcome = jyjl === '1' ? 'pass' : 'fail';
          } else {
            measurementsOf(row, test.measurements);
          }
          return [];
        }
        case '18C59': {
          const endedAt = timeOf(row, 'jssj', ctx) ?? fail('jssj', 'missing');
          const test = state.tests[key] ?? fail('jkid', `18C59 without an open 18C52 for ${key}`);
          ordered('kssj', test.startedAt, 'jssj', endedAt);
          delete state.tests[key];
          // Items of this test that never ended are abandoned with it.
          for (const k of Object.keys(state.items)) {
            if (k.startsWith(`${key}:`)) {
              delete state.items[k];
              state.dropped += 1;
            }
          }
          const measurements: Record<string, number> = { ...test.measurements, insuranceValidTo: test.insuranceValidTo };
          const photoAt = pickPhotoTime(test, endedAt);
          if (photoAt !== undefined) measurements.photoTakenAt = photoAt;
          const out: PendingTransaction = compact({
            source: '18c',
            channel,
            institutionId: test.institutionId,
            counter: test.line,
            staffId: test.manualStaffId ?? test.staffId,
            staffIdHash: test.manualStaffId !== undefined ? test.manualStaffIdHash : test.staffIdHash,
            lsh: test.lsh,
            subLsh: String(test.jycs),
            kind: 'inspection' as const,
            ywlx: test.ywlx,
            vehicle: test.vehicle,
            occurredAt: endedAt,
            startedAt: test.startedAt,
            endedAt,
            outcome: test.outcome,
            measurements,
            evidence: test.photos.length > 0 ? test.photos.map((p) => p.hash) : undefined,
          });
          return [out];
        }
        default:
          return fail('jkid', `'${jkid}' is not an 18C event this adapter reads (18C52/55/58/59/63/80–83)`);
      }
    });
  },
};
