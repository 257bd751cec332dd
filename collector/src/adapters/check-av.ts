/**
 * Vehicle-check (查验) audio/video events, one JSON object per line, as the check-area video system
 * writes them. Either a pair of events sharing `cylsh` (查验流水号):
 *
 *   {"sjlx":"CYKS", "cylsh", "sj", "cytd", "cyy", "cyysfzh", "lsh", "ywlx", "hpzl", "hphm", "clsbdh", "spbh", "sbbh", "ip"}
 *   {"sjlx":"CYJS", "cylsh", "sj", "cyjg", "zpsha256":[…]}
 *
 * or one record with both `kssj` and `jssj` (systems that report finished checks only).
 *
 * → kind 'check', source 'check_av': counter = cytd (查验通道), staffId = cyy (查验员), staffIdHash
 * from cyysfzh, deviceId = sbbh, lsh = the business number being checked (lsh, else cylsh),
 * subLsh = cylsh, startedAt/endedAt from the events, occurredAt = endedAt, vehicle from
 * hpzl/hphm/clsbdh (VIN check digit verified), evidence = photo hashes + `video:<spbh>`,
 * outcome from cyjg: '1' 合格 → pass, '0'/'2' 不合格 → fail, '3' 退回 (remote review) → refused.
 * Fields of the end event override those of the start event.
 */
import { asRow, compact, fail, institutionOf, limit, mapWith, ordered, plateOf, plateType, required, staffHashOf, text, timeOf, vehicleBusiness, vehicleRef, vinOf, type Row } from './common.js';
import type { Adapter, AdapterContext, PendingTransaction } from './types.js';

/** The start event's fields, pseudonymised, waiting for the end. */
type OpenCheck = Omit<PendingTransaction, 'occurredAt'> & { startedAt: number };

export interface CheckAvState {
  open: Record<string, OpenCheck>;
  dropped: number;
}

function outcomeOf(row: Row): PendingTransaction['outcome'] {
  const v = text(row, 'cyjg');
  switch (v) {
    case undefined:
      return undefined;
    case '1':
      return 'pass';
    case '0':
    case '2':
      return 'fail';
    case '3':
      return 'refused';
    default:
      return fail('cyjg', `'${v}' is not a 查验结论 (1 合格, 0/2 不合格, 3 退回)`);
  }
}

function evidenceOf(row: Row): string[] {
  const out: string[] = [];
  const photos = row.zpsha256 ?? row.ZPSHA256;
  if (photos !== undefined && photos !== null) {
    const list = Array.isArray(photos) ? photos : [photos];
    for (const p of list) {
      if (typeof p !== 'string' || !/^[0-9a-fA-F]{64}$/.test(p)) fail('zpsha256', 'must be SHA-256 hex digests');
      out.push(p.toLowerCase());
    }
  }
  const spbh = limit('spbh', text(row, 'spbh'), 120);
  if (spbh !== undefined) out.push(`video:${spbh}`);
  return out;
}

/** Everything a start event (or a one-record check) says, without the times. */
function describe(row: Row, ctx: AdapterContext, cylsh: string): Omit<PendingTransaction, 'occurredAt'> {
  const vehicle = vehicleRef({ hpzl: plateType(row, 'hpzl'), hphm: plateOf(row, 'hphm'), vin: vinOf(row, 'clsbdh') }, ctx, 'hpzl');
  const evidence = evidenceOf(row);
  return compact({
    source: 'check_av',
    channel: ctx.options.channel ?? checkAvAdapter.defaultChannel,
    institutionId: institutionOf(ctx, text(row, 'jgbh')),
    counter: limit('cytd', text(row, 'cytd'), 32),
    staffId: limit('cyy', text(row, 'cyy'), 64),
    staffIdHash: staffHashOf(row, 'cyysfzh', ctx),
    deviceId: limit('sbbh', text(row, 'sbbh'), 64),
    ip: limit('ip', text(row, 'ip'), 45),
    lsh: limit('lsh', text(row, 'lsh') ?? cylsh, 32),
    subLsh: cylsh,
    kind: 'check' as const,
    ywlx: vehicleBusiness(row, 'ywlx'),
    vehicle,
    outcome: outcomeOf(row),
    evidence: evidence.length > 0 ? evidence : undefined,
  });
}

function merge(start: OpenCheck, end: Omit<PendingTransaction, 'occurredAt'>): Omit<PendingTransaction, 'occurredAt'> {
  const evidence = [...(start.evidence ?? []), ...(end.evidence ?? [])].filter((e, i, a) => a.indexOf(e) === i).slice(0, 64);
  const { startedAt: _s, ...s } = start;
  const e = compact({ ...end, lsh: end.lsh === end.subLsh ? undefined : end.lsh });
  // The institution and channel are the start event's (the end event rarely repeats jgbh).
  return compact({ ...s, ...e, institutionId: s.institutionId, channel: s.channel, evidence: evidence.length > 0 ? evidence : undefined });
}

export const checkAvAdapter: Adapter<CheckAvState> = {
  name: 'check_av',
  source: 'check_av',
  format: 'jsonl',
  description: '机动车查验音视频事件（查验开始/结束、通道、查验员、号牌、车辆识别代号）',
  defaultChannel: 'institution',
  initialState: () => ({ open: {}, dropped: 0 }),
  describeState: (s) => ({ openChecks: Object.keys(s.open).length, dropped: s.dropped }),
  map(record, ctx, state) {
    return mapWith(() => {
      const row = asRow(record);
      const cylsh = limit('cylsh', required(row, 'cylsh'), 32)!;
      const sjlx = text(row, 'sjlx')?.toUpperCase();
      if (sjlx === undefined) {
        // One record per finished check.
        const startedAt = timeOf(row, 'kssj', ctx) ?? fail('kssj', 'missing (and no sjlx)');
        const endedAt = timeOf(row, 'jssj', ctx) ?? fail('jssj', 'missing');
        ordered('kssj', startedAt, 'jssj', endedAt);
        return [{ ...describe(row, ctx, cylsh), occurredAt: endedAt, startedAt, endedAt } as PendingTransaction];
      }
      const at = timeOf(row, 'sj', ctx) ?? fail('sj', 'missing');
      for (const [k, c] of Object.entries(state.open)) {
        if (c.startedAt < at - ctx.options.maxOpenMs) {
          delete state.open[k];
          state.dropped += 1;
        }
      }
      if (sjlx === 'CYKS') {
        const open = state.open[cylsh];
        if (open) {
          if (open.startedAt === at) return [];
          fail('sjlx', `CYKS again for open check ${cylsh} at a different time`);
        }
        const d = describe(row, ctx, cylsh);
        if (d.counter === undefined) fail('cytd', 'missing');
        state.open[cylsh] = { ...d, startedAt: at };
        return [];
      }
      if (sjlx === 'CYJS') {
        const start = state.open[cylsh] ?? fail('sjlx', `CYJS without an open CYKS for ${cylsh}`);
        ordered('CYKS.sj', start.startedAt, 'sj', at);
        const merged = merge(start, describe(row, ctx, cylsh));
        delete state.open[cylsh];
        return [compact({ ...merged, occurredAt: at, startedAt: start.startedAt, endedAt: at }) as PendingTransaction];
      }
      return fail('sjlx', `'${sjlx}' is not CYKS (查验开始) or CYJS (查验结束)`);
    });
  },
};
