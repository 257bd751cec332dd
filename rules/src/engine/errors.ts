/**
 * Coded configuration errors. Callers (the hub's rule-release API, tests) switch on `code`, never
 * on the message; the message is for the administrator and names the rule and the field.
 */

export const RULE_ERROR_CODES = {
  /** A rule definition does not match the schema (unknown kind, bad field path, bad template…). */
  RULE_DEFINITION_INVALID: 'RULE_DEFINITION_INVALID',
  /** Two definitions share an id, or two stateful rules share a state key prefix. */
  RULE_DEFINITION_CONFLICT: 'RULE_DEFINITION_CONFLICT',
  /** A parameter override is malformed, out of range or names an unknown parameter. */
  RULE_PARAMS_INVALID: 'RULE_PARAMS_INVALID',
  /** A parameter override names a rule id that is not in the definitions. */
  RULE_UNKNOWN: 'RULE_UNKNOWN',
} as const;
export type RuleErrorCode = keyof typeof RULE_ERROR_CODES;

export class RuleConfigError extends Error {
  override readonly name = 'RuleConfigError';
  readonly code: RuleErrorCode;
  /** The offending rule, when one can be named. */
  readonly ruleId: string | undefined;
  /** One line per problem: `path: message`. */
  readonly issues: readonly string[];

  constructor(code: RuleErrorCode, message: string, options: { ruleId?: string; issues?: readonly string[] } = {}) {
    const issues = options.issues ?? [];
    super(issues.length > 0 ? `${message}\n  - ${issues.join('\n  - ')}` : message);
    this.code = code;
    this.ruleId = options.ruleId;
    this.issues = issues;
  }
}

export function isRuleConfigError(err: unknown): err is RuleConfigError {
  return err instanceof RuleConfigError;
}
