import { describe, expect, it } from 'vitest';
import { WarningSchema, buildWarning, createEngine, warningId } from '../src/index.js';
import { context, cst, fnvReference, person, txn } from './helpers.js';

describe('buildWarning', () => {
  const engine = createEngine();
  const night = txn({ id: 'c-jcj-cgs-01:42', occurredAt: cst('2026-11-26T22:15'), subject: person('s', '4512**********0001') });
  const env = { batchId: 'c-jcj-cgs-01:40-45', county: '451202', raisedAt: cst('2026-11-26T22:15:02') };

  it('fills every Warning field and passes the schema', async () => {
    const [hit] = await engine.evaluate(night, context());
    const w = buildWarning(hit!, night, env);
    expect(WarningSchema.parse(w)).toEqual(w);
    expect(w).toMatchObject({
      ruleId: 'counter.off_hours',
      ruleName: '非工作时间办理业务',
      ruleVersion: hit!.rule.version,
      family: 'counter',
      severity: 'medium',
      action: 'warn',
      transactionId: 'c-jcj-cgs-01:42',
      batchId: env.batchId,
      collectorId: 'c-test',
      institutionId: 'JCJ-CGS',
      county: '451202',
      occurredAt: night.occurredAt,
      capturedAt: night.capturedAt,
      raisedAt: env.raisedAt,
      explanation: hit!.explanation,
      values: hit!.values,
      subjectMasked: '4512**********0001',
    });
  });

  it('derives the id from (rule id, transaction id) only', async () => {
    const [a] = await engine.evaluate(night, context());
    const [b] = await engine.evaluate(night, context());
    const w1 = buildWarning(a!, night, env);
    const w2 = buildWarning(b!, night, { batchId: 'other-batch', county: '', raisedAt: env.raisedAt + 60_000 });
    expect(w1.id).toBe(w2.id);
    expect(w1.id).toBe(warningId('counter.off_hours', 'c-jcj-cgs-01:42'));
    expect(w1.id).toMatch(/^w-[0-9a-f]{16}$/);
    expect(w1.id).toBe(`w-${fnvReference('counter.off_hours|c-jcj-cgs-01:42')}`);
    expect(warningId('counter.off_hours', 'c-jcj-cgs-01:43')).not.toBe(w1.id);
    expect(warningId('agent.frequent', 'c-jcj-cgs-01:42')).not.toBe(w1.id);
  });

  it("uses '' when the transaction has no subject", async () => {
    const t = txn({ occurredAt: cst('2026-11-26T22:15') });
    const [hit] = await engine.evaluate(t, context());
    expect(buildWarning(hit!, t, env).subjectMasked).toBe('');
  });
});
