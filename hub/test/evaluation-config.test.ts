/** Evaluation weights per institution type from JG_EVALUATION_FILE, merged over the defaults. */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { evaluationConfig } from '../src/evaluation/config.js';
import { HubError } from '../src/errors.js';
import { categoryOf, DEFAULT_EVALUATION, scoreMonth, weightsFor } from '../src/evaluation/scoring.js';
import { tmpDir } from './helpers.js';

describe('evaluation configuration', () => {
  it('defaults without a file', () => {
    expect(evaluationConfig(undefined)).toBe(DEFAULT_EVALUATION);
    expect(weightsFor(DEFAULT_EVALUATION, 'dealer')).toEqual({ weights: { compliance: 40, quality: 25, integrity: 20, responsiveness: 15 }, factor: 4, minVolume: 100 });
  });

  it('merges per-type weights and other overrides from the file', () => {
    const file = path.join(tmpDir('evalcfg'), 'evaluation.json');
    fs.writeFileSync(file, JSON.stringify({ grades: { A: 95 }, byType: { dealer: { weights: { compliance: 60, integrity: 0 }, factor: 2 } }, vetoRules: ['agent.blacklisted'] }));
    const cfg = evaluationConfig(file);
    expect(weightsFor(cfg, 'dealer')).toEqual({ weights: { compliance: 60, quality: 25, integrity: 0, responsiveness: 15 }, factor: 2, minVolume: 100 });
    expect(weightsFor(cfg, 'hospital').weights.compliance).toBe(40);
    expect(cfg.grades).toEqual({ A: 95, B: 75, C: 60 });
    const s = scoreMonth(cfg, { institutionId: 'd', type: 'dealer', transactions: 100, warnings: 1, escalated: 0, points: { compliance: 3, integrity: 3 }, vetoRules: [] });
    // compliance 2 × 3 × 1 = 6; integrity capped at its weight 0 → 94, which is B under A ≥ 95.
    expect(s).toMatchObject({ score: 94, grade: 'B', deductions: { compliance: 6, integrity: 0 } });
    expect(categoryOf(cfg, 'counter.refusals_daily')).toBe('quality');
  });

  it('refuses a malformed file with CONFIG_INVALID naming it', () => {
    const file = path.join(tmpDir('evalcfg'), 'bad.json');
    fs.writeFileSync(file, JSON.stringify({ byType: { spaceship: {} }, weight: 1 }));
    let err: unknown;
    try {
      evaluationConfig(file);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(HubError);
    expect((err as HubError).code).toBe('CONFIG_INVALID');
    expect((err as HubError).message).toContain('bad.json');
  });
});
