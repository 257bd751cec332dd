/**
 * The one place the dashboard takes values (not just types) from @jianguan/rules: code tables
 * and labels, which are browser-safe data.
 */
export { CITY, COUNTIES, SEVERITY_LABELS, RULE_FAMILY_LABELS, INSTITUTION_TYPE_LABELS } from '@jianguan/rules';
export type { County, RuleFamily, Severity, RuleAction } from '@jianguan/rules';
