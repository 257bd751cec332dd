/**
 * The workbench's recheck (POST /api/v1/warnings/recheck): what the hub answered, in words, and
 * the note a bulk false-alarm conclusion cites. Pure, for the page and the tests.
 */
import type { RecheckItem, RecheckResult } from '@jianguan/protocol';
import { localSecond } from '@jianguan/rules';
import { L } from './lang';

const REASONS: Readonly<Record<NonNullable<RecheckItem['reason']>, [zh: string, en: string]>> = {
  stateful: ['该规则依赖历史累计（次数、重叠、重复照片等），无法按单条业务复核', 'The rule counts history (repeats, overlaps, reused photos): one record cannot replay it'],
  not_per_record: ['该预警非单条业务产生（定期比对或采集端告警），无法复核', 'Not raised by one record (a periodic comparison or a collector alert)'],
  no_transaction: ['未找到对应的业务记录', 'Its business record was not found'],
  not_found: ['未找到该预警', 'No such warning'],
};

/** Why a warning could not be checked again, in the current language. */
export function reasonText(reason: RecheckItem['reason']): string {
  const r = reason ? REASONS[reason] : undefined;
  return r ? L(r[0], r[1]) : '';
}

/** One line for the whole answer. */
export function recheckSummary(r: Pick<RecheckResult, 'checked' | 'still' | 'noLonger' | 'notCheckable'>): string {
  return L(
    `已按现行备案与工作日历复核 ${r.checked} 条：仍成立 ${r.still} 条，不再成立 ${r.noLonger} 条，无法复核 ${r.notCheckable} 条`,
    `Rechecked ${r.checked} against the filings and work calendar now in force: ${r.still} still raised, ${r.noLonger} no longer, ${r.notCheckable} cannot be rechecked`,
  );
}

/**
 * The note a bulk 正常（误报） conclusion of the warnings no longer raised cites: when, and under
 * which rule set, the system found they would not be raised today. Chinese in both languages:
 * it goes into the warning's record, which is kept in Chinese.
 */
export function recheckNote(r: Pick<RecheckResult, 'ruleSet'>, at: number): string {
  return `系统复核（${localSecond(at)}，规则集 ${r.ruleSet}）：按现行备案与工作日历，该预警不再产生，核查为误报`;
}

/** What the hub is asked for the warnings a screen shows: their ids, and their institutions to narrow the read. */
export function recheckBody(items: readonly { id: string; institutionId: string }[]): { ids: string[]; institutions: string[] } {
  return { ids: items.map((w) => w.id), institutions: [...new Set(items.map((w) => w.institutionId))] };
}

/** Outcome per warning id. */
export function outcomes(r: RecheckResult | null): Map<string, RecheckItem> {
  return new Map((r?.results ?? []).map((x) => [x.id, x]));
}
