/**
 * A dead letter's reason in the screen's language, read from what the hub's own checks say about
 * bad records (hub/src/validation/transaction.ts, hub/src/ingest/sanity.ts): a reason the hub
 * comes to word differently shows up here as untranslated, not as English on the Chinese screen.
 */
import { describe, expect, it } from 'vitest';
import { transactionOf } from '../../hub/src/validation/transaction';
import { findTimeOutOfWindow, findUnstorableText } from '../../hub/src/ingest/sanity';
import { deadLetterCodeText, deadReasonParts, deadReasonText, fieldText } from '$lib/app/dead-letters';
import { inEnglish } from './locale';

const AT = Date.UTC(2026, 10, 25, 2, 0, 0);
const HASH = 'a'.repeat(64);
const record = (over: Record<string, unknown> = {}): Record<string, unknown> => ({
  id: 'c-test-01:1', collectorId: 'c-test-01', seq: 1, source: 'test', channel: 'institution', institutionId: 'JCJ-JYZ',
  counter: 'L1', staffId: 'JCJ-JYZ-I01', lsh: '261125000001', kind: 'check', ywlx: 'A',
  subject: { idHash: HASH, masked: '4512**********123X' },
  vehicle: { hpzl: '02', hphm: '桂M10001', vin: 'LSVAA4182E2100001' },
  occurredAt: AT, startedAt: AT, endedAt: AT + 400_000, capturedAt: AT, outcome: 'pass', ...over,
});
const reasonOf = (r: unknown): string => {
  const checked = transactionOf(r);
  if (checked.ok) throw new Error(`accepted: ${JSON.stringify(r)}`);
  return checked.message;
};
const HAN = /[\u4e00-\u9fff]/;

describe("a dead letter's reason", () => {
  const bad = [
    record({ occurredAt: undefined }),
    record({ occurredAt: 'yesterday' }),
    record({ kind: 'lorry' }),
    record({ vehicle: { hpzl: '02', hphm: '桂M10001', vin: 'LSVAA4182E210' } }),
    record({ seq: -1 }),
    record({ seq: 1.5 }),
    record({ institutionId: undefined, staffId: 42 }),
    record({ evidence: [HASH, 7] }),
    'not a record',
  ];

  it('words every reason the schema gives, field by field, in Chinese and in English', () => {
    const reasons = bad.map(reasonOf);
    for (const r of reasons) {
      for (const p of deadReasonParts(r)) {
        expect(p.asWritten, `${r} → ${p.text}`).toBe(false);
        expect(p.field, r).toMatch(HAN);
        expect(p.text, r).toMatch(HAN);
      }
      const en = inEnglish(() => deadReasonText(r));
      expect(en, r).not.toMatch(HAN);
    }
    expect(deadReasonText(reasonOf(bad[0]))).toBe('业务发生时间：缺少此项');
    expect(deadReasonText(reasonOf(bad[3]))).toBe('车辆识别代号：应为 17 个字符');
    expect(deadReasonText(reasonOf(bad[2]))).toMatch(/^业务类别：不是可用的取值（可用：机动车业务、驾驶证业务、机动车查验、/);
    // The allowed values by their names on the English screen too, never the Chinese ones.
    expect(inEnglish(() => deadReasonText(reasonOf(bad[2])))).not.toMatch(HAN);
    expect(deadReasonText(reasonOf(bad[6]))).toBe('办理机构：缺少此项；经办人员：应为文字，收到的是数字');
    expect(inEnglish(() => deadReasonText(reasonOf(bad[3])))).toBe('VIN: should be exactly 17 characters');
  });

  it("words ingest's own checks: times, text that cannot be stored, depth", () => {
    const limits = { maxFutureSkewMs: 300_000, maxRecordAgeMs: 400 * 86_400_000 };
    const future = findTimeOutOfWindow(record({ capturedAt: AT + 86_400_000 }) as never, AT, limits)!;
    const old = findTimeOutOfWindow(record({ capturedAt: AT - 500 * 86_400_000 }) as never, AT, limits)!;
    const surrogate = findUnstorableText(record({ counter: 'L\ud800' }))!;
    const control = findUnstorableText(record({ counter: 'L\u0001' }))!;
    let deep: unknown = 1;
    for (let i = 0; i < 100; i++) deep = { x: deep };
    const nested = findUnstorableText(record({ measurements: deep }))!;
    for (const r of [future, old, surrogate, control, nested]) {
      expect(r).toBeTruthy();
      const parts = deadReasonParts(r);
      expect(parts.every((p) => !p.asWritten && HAN.test(p.text)), r).toBe(true);
      expect(inEnglish(() => deadReasonText(r)), r).not.toMatch(HAN);
    }
    expect(deadReasonText(future)).toMatch(/^采集时间：\S+ 晚于系统当前时间/);
    expect(deadReasonText(surrogate)).toBe('窗口/线道：含有残缺的文字编码（无法保存为文字）');
  });

  it('keeps a reason of an unknown shape as written, and names every code', () => {
    expect(deadReasonParts('something odd happened')).toEqual([{ field: '', text: 'something odd happened', asWritten: true }]);
    expect(deadReasonParts('vehicle.vin: a new kind of message')).toEqual([{ field: '车辆识别代号', text: 'a new kind of message', asWritten: true }]);
    expect(fieldText('evidence.1')).toBe('证据引用第 2 项');
    expect(fieldText('agent.idHash')).toBe('代办人身份（密文）');
    expect(fieldText('measurements.brakeForce')).toBe('检测数据「brakeForce」');
    expect(fieldText('unknown.path')).toBe('unknown.path');
    for (const code of ['RECORD_INVALID', 'RECORD_DUPLICATE', 'RECORD_ID_FOREIGN', 'RECORD_TEXT_INVALID', 'RECORD_TIME_INVALID', 'COLLECTOR_MISMATCH', 'UNKNOWN_INSTITUTION', 'INSTITUTION_NOT_ALLOWED', 'STORE_REFUSED']) {
      expect(deadLetterCodeText(code)).not.toBe('其他原因');
      expect(inEnglish(() => deadLetterCodeText(code))).not.toMatch(HAN);
    }
  });
});
