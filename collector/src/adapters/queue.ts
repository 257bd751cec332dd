/**
 * Queue-and-call records (排队叫号系统), one JSON object per line, written when a ticket is closed:
 *
 *   {"pdhm","lsh","ckh","gh","sbbh","ip","sqrsfzmhm","dlrsfzmhm","qhsj","jhsj","bjsj","zt"}
 *
 * → kind 'queue', source 'queue' (the rule pack's convention): appliedAt = qhsj (取号, ticket),
 * startedAt = jhsj (叫号, call), completedAt = bjsj (办结, finish), occurredAt = the latest of
 * them; counter = ckh (窗口号), staffId = gh (工号), deviceId = sbbh, subject = sqrsfzmhm (申请人),
 * agent = dlrsfzmhm (代理人), lsh = the platform business number (lsh) so the hub can match
 * business to tickets, subLsh = pdhm (排队号码). zt: '1' 已办结 → done, '2' 退办 → refused,
 * '3' 过号 → pending (a no-show).
 */
import { asRow, compact, fail, institutionOf, limit, mapWith, ordered, personOf, required, text, timeOf } from './common.js';
import type { Adapter, PendingTransaction } from './types.js';

const STATUS: Readonly<Record<string, PendingTransaction['outcome']>> = { '1': 'done', '2': 'refused', '3': 'pending' };

export const queueAdapter: Adapter = {
  name: 'queue',
  source: 'queue',
  format: 'jsonl',
  description: '排队叫号系统记录（取号、叫号、办结时间，窗口，工号，申请人，代理人）',
  defaultChannel: 'counter',
  map(record, ctx) {
    return mapWith(() => {
      const row = asRow(record);
      const pdhm = limit('pdhm', required(row, 'pdhm'), 32)!;
      const appliedAt = timeOf(row, 'qhsj', ctx) ?? fail('qhsj', 'missing');
      const startedAt = timeOf(row, 'jhsj', ctx);
      const completedAt = timeOf(row, 'bjsj', ctx);
      ordered('qhsj', appliedAt, 'jhsj', startedAt);
      ordered('jhsj', startedAt ?? appliedAt, 'bjsj', completedAt);
      const zt = required(row, 'zt');
      if (!(zt in STATUS)) fail('zt', `'${zt}' is not 1 (已办结), 2 (退办) or 3 (过号)`);
      return [
        compact({
          source: 'queue',
          channel: ctx.options.channel ?? queueAdapter.defaultChannel,
          institutionId: institutionOf(ctx, text(row, 'jgdm')),
          counter: limit('ckh', text(row, 'ckh'), 32),
          staffId: limit('gh', text(row, 'gh'), 64),
          deviceId: limit('sbbh', text(row, 'sbbh'), 64),
          ip: limit('ip', text(row, 'ip'), 45),
          lsh: limit('lsh', text(row, 'lsh'), 32),
          subLsh: pdhm,
          kind: 'queue' as const,
          subject: personOf(row, 'sqrsfzmhm', ctx),
          agent: personOf(row, 'dlrsfzmhm', ctx),
          occurredAt: completedAt ?? startedAt ?? appliedAt,
          appliedAt,
          startedAt,
          completedAt,
          outcome: STATUS[zt],
        }),
      ];
    });
  },
};
