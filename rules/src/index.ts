/**
 * @jianguan/rules — the Jianguan domain: schemas, the rule engine and the built-in rule pack.
 * Pure and browser-safe: no I/O, no `node:` modules; the only dependency is zod.
 */

// Model
export * from './model/codes.js';
export * from './model/registry.js';
export * from './model/temporal-registry.js';
export * from './model/transaction.js';
export { parseTransactionFast, TRANSACTION_FAST_KEYS } from './model/transaction-fast.js';
export * from './model/warning.js';
export * from './model/labels.js';
export { maskIdNumber, maskPlate, remaskIdNumber } from './model/mask.js';
export { idCheckDigit, isValidIdNumber } from './model/identity-number.js';

// Business time (Asia/Shanghai)
export * from './business-time.js';

// Engine
export type {
  EvaluationContext,
  FingerprintMatch,
  FingerprintState,
  IntervalConflict,
  IntervalState,
  PeerFinding,
  PeerRule,
  PeerSample,
  RuleEngine,
  RuleHit,
  RuleMeta,
  RuleStateKind,
  SequenceMatch,
  SequenceState,
  StateBatcher,
  StateOp,
  StateOpAnswer,
  WarningEnvelope,
  WindowState,
} from './engine/types.js';
export {
  DEFAULT_CALENDAR,
  createWorkCalendar,
  institutionCalendar,
  type LocalTime,
  type TypeHours,
  type WorkCalendar,
  type WorkCalendarConfig,
} from './engine/calendar.js';
export {
  CALENDAR_UTC_OFFSET_MINUTES,
  TypeHoursSchema,
  WorkHoursSchema,
  WorkPeriodSchema,
  builtinCalendar,
  calendarYearSchema,
  festivalDays,
  festivalsMissing,
  isCalendarDate,
  mergeCalendar,
  normaliseYearDates,
  parseHolidayNotice,
  yearReach,
  type CalendarYearDates,
  type FestivalDay,
  type NoticeFestival,
  type ParsedNotice,
  type WorkHours,
  type WorkPeriod,
} from './engine/calendar-config.js';
export {
  BusinessHoursSchema,
  formatBusinessHours,
  hoursGroups,
  parseBusinessHours,
  sortedPeriods,
  weekdayRuns,
  type BusinessHours,
  type DayPeriods,
  type ParsedBusinessHours,
} from './model/business-hours.js';
export {
  createEngine,
  ruleVersion,
  stateKindOf,
  validateDefinitions,
  DAY_MS,
  type CompiledRuleEngine,
  type EngineOptions,
} from './engine/compile.js';
export * from './engine/definition.js';
export { RULE_ERROR_CODES, RuleConfigError, isRuleConfigError, type RuleErrorCode } from './engine/errors.js';
export { FIELD_PATHS, FieldPath, TIME_FIELDS, TimeField, FIELD_ENUMS, VALUE_PATHS, ValuePath, MEASUREMENT_PATHS } from './engine/fields.js';
export { canonicalJson, fnv1a64 } from './engine/hash.js';
export {
  createMemoryWindowState,
  type MemoryWindowState,
  type MemoryWindowStateOptions,
} from './engine/window-state.js';
export { createMemoryIntervalState, type MemoryIntervalState } from './engine/interval-state.js';
export { createMemoryFingerprintState, type MemoryFingerprintState } from './engine/fingerprint-state.js';
export { createMemorySequenceState, type MemorySequenceState } from './engine/sequence-state.js';
export {
  RULE_STATE_FORMAT,
  RULE_STATE_FORMAT_VERSION,
  applyStateOps,
  peekStateOps,
  createMemoryRuleState,
  exportRuleState,
  importRuleState,
  peekRuleState,
  ruleStateSize,
  sweepRuleState,
  type MemoryRuleState,
  type MemoryRuleStateOptions,
  type RuleStatePeek,
} from './engine/memory-state.js';
export { INTERVAL_RETAIN_MS } from './engine/kinds/overlap.js';
export { measurementFingerprint } from './engine/kinds/fingerprint.js';
export { parseCidr, parseIpv4 } from './engine/ip.js';
export { buildWarning, warningId } from './engine/warning.js';

// Rule pack
export * from './pack/index.js';

// Demo fixtures (河池市)
export * from './fixtures/hechi.js';
