/**
 * The audit screen's operation filter: a single action code, or a whole group of them
 * (`group:<key>`, e.g. every single-warning step under 预警处置), sent to the hub as the
 * exact codes of `actions=`.
 */
import { AUDIT_ACTION_GROUPS } from '@jianguan/protocol/auth';

export function auditFilterActions(value: string): string | undefined {
  if (!value) return undefined;
  if (!value.startsWith('group:')) return value;
  const g = AUDIT_ACTION_GROUPS.find((x) => x.key === value.slice('group:'.length));
  return g ? Object.keys(g.actions).join(',') : undefined;
}
