/**
 * The built-in rule pack. Order here is evaluation order and hit order. Rule ids are a contract
 * with the collector's simulator (it injects anomalies that must trigger exactly these) and with
 * stored warnings: never rename an id, add a new rule instead.
 */
import type { RuleDefinitionInput } from '../engine/definition.js';
import { AGENT_RULES } from './agent.js';
import { CHECK_RULES } from './check.js';
import { COUNTER_RULES } from './counter.js';
import { POINTS_RULES } from './points.js';

export { counterOffHours, COUNTER_RULES } from './counter.js';
export { agentFrequent, AGENT_RULES } from './agent.js';
export { checkShortDuration, checkInspectorUnfiled, CHECK_RULES } from './check.js';
export { pointsLicenceMultiVehicle, POINTS_RULES } from './points.js';

/** Pack release label; the engine version is `pack-${PACK_VERSION}-<hash of effective definitions>`. */
export const PACK_VERSION = '2026.11';

export const RULE_IDS = {
  counterOffHours: 'counter.off_hours',
  agentFrequent: 'agent.frequent',
  checkShortDuration: 'check.short_duration',
  checkInspectorUnfiled: 'check.inspector_unfiled',
  pointsLicenceMultiVehicle: 'points.licence_multi_vehicle',
} as const;
export type BuiltInRuleId = (typeof RULE_IDS)[keyof typeof RULE_IDS];

export const DEFAULT_PACK: readonly RuleDefinitionInput[] = Object.freeze([
  ...COUNTER_RULES,
  ...AGENT_RULES,
  ...CHECK_RULES,
  ...POINTS_RULES,
]);
