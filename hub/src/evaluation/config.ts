import fs from 'node:fs';
import { HubError, errorMessage } from '../errors.js';
import { describeIssues } from '../validation/issues.js';
import { DEFAULT_EVALUATION, EvaluationOverrides, withOverrides, type EvaluationConfig } from './scoring.js';

/** DEFAULT_EVALUATION with the overrides of JG_EVALUATION_FILE, validated (CONFIG_INVALID names the file). */
export function evaluationConfig(file: string | undefined): EvaluationConfig {
  if (!file) return DEFAULT_EVALUATION;
  let raw: unknown;
  try {
    raw = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    throw new HubError('CONFIG_INVALID', `JG_EVALUATION_FILE ${file}: ${errorMessage(e)}`);
  }
  const parsed = EvaluationOverrides.safeParse(raw);
  if (!parsed.success) throw new HubError('CONFIG_INVALID', `JG_EVALUATION_FILE ${file}: ${describeIssues(parsed.error)}`);
  return withOverrides(DEFAULT_EVALUATION, parsed.data);
}
