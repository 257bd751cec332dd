/**
 * @jianguan/collector — the counter-side agent: captures transactions, pseudonymises them, keeps
 * them in a crash-safe disk outbox and ships them to the hub over socket.io with acknowledgements.
 */
export { startCollector, type CollectorEvent, type CollectorHandle, type CollectorStatus, type StartOptions } from './collector.js';
export {
  CollectorConfigSchema,
  CONFIG_ENV_NAMES,
  loadConfigFile,
  loadConfigFromEnv,
  parseConfig,
  type CollectorConfig,
  type CollectorConfigInput,
} from './config.js';
export { COLLECTOR_ERROR_CODES, CollectorError, isCollectorError, type CollectorErrorCode } from './errors.js';
export { backoffDelay, Link, type LinkCounters, type LinkEvent, type LinkOptions, type LinkState } from './link/link.js';
export {
  encodeFrame,
  inspectOutbox,
  Outbox,
  type OutboxEvent,
  type OutboxInspection,
  type OutboxOptions,
  type OutboxRecord,
  type QuarantineEntry,
  type RecoveryReport,
} from './outbox/outbox.js';
export { createPseudonymizer, toTransaction, type Pseudonymizer, type RecordMeta } from './pseudonym.js';
export { createBusinessClock, type BusinessClock } from './sources/business-clock.js';
export { idCheckDigit, isValidIdNumber, isValidVin, vinCheckDigit } from './sources/identifiers.js';
export { createSimulator, type Simulator, type SimulatorOptions } from './sources/simulator.js';
export {
  INJECTABLE_RULES,
  MALFORMED_RULE_ID,
  type InjectableRuleId,
  type InjectedAnomaly,
  type InjectedRuleId,
  type RawTransaction,
  type SourceRecord,
} from './sources/types.js';
