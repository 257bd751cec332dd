/** The workbench's recheck in words ($lib/app/recheck.ts). */
import { describe, expect, it } from 'vitest';
import { localSecond } from '@jianguan/rules';
import { outcomes, reasonText, recheckBody, recheckNote, recheckSummary } from '$lib/app/recheck';
import { i18n } from '$lib/i18n/index.svelte';
import { inEnglish } from './locale';

const answer = {
  checked: 4,
  still: 1,
  noLonger: 2,
  notCheckable: 1,
  ruleSet: 'builtin-1a2b3c',
  results: [
    { id: 'w1', outcome: 'no_longer' as const, explanationThen: '业务办理时间2025-04-12 10:00（星期六）为休息日' },
    { id: 'w2', outcome: 'no_longer' as const },
    { id: 'w3', outcome: 'still' as const, explanationNow: '业务办理时间2025-04-14 18:30（星期一），不在工作时间08:00–17:00内' },
    { id: 'w4', outcome: 'not_checkable' as const, reason: 'stateful' as const },
  ],
};

describe('the recheck in words', () => {
  it('sums the answer up and says why a warning could not be rechecked, in either language', () => {
    i18n.locale = 'zh';
    expect(recheckSummary(answer)).toBe('已按现行备案与工作日历复核 4 条：仍成立 1 条，不再成立 2 条，无法复核 1 条');
    expect(reasonText('stateful')).toContain('依赖历史累计');
    expect(reasonText('no_transaction')).toBe('未找到对应的业务记录');
    expect(reasonText(undefined)).toBe('');
    inEnglish(() => {
      expect(recheckSummary(answer)).toBe('Rechecked 4 against the filings and work calendar now in force: 1 still raised, 2 no longer, 1 cannot be rechecked');
      for (const r of ['stateful', 'not_per_record', 'no_transaction', 'not_found'] as const) expect(reasonText(r)).toMatch(/^[\x20-\x7e]+$/);
    });
  });

  it('words the false-alarm note with the time and rule set of the recheck, and maps outcomes by id', () => {
    const at = Date.parse('2026-12-07T04:20:00Z');
    expect(recheckNote(answer, at)).toBe(`系统复核（${localSecond(at)}，规则集 builtin-1a2b3c）：按现行备案与工作日历，该预警不再产生，核查为误报`);
    expect(localSecond(at)).toBe('2026-12-07 12:20:00');
    const byId = outcomes(answer);
    expect([...byId.keys()]).toEqual(['w1', 'w2', 'w3', 'w4']);
    expect(byId.get('w4')).toMatchObject({ outcome: 'not_checkable', reason: 'stateful' });
    expect(outcomes(null).size).toBe(0);
    expect(recheckBody([{ id: 'w1', institutionId: 'A' }, { id: 'w2', institutionId: 'B' }, { id: 'w3', institutionId: 'A' }])).toEqual({ ids: ['w1', 'w2', 'w3'], institutions: ['A', 'B'] });
  });
});
