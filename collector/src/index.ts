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
export { BatchChain, CHAIN_FILE, IDENTITY_FILE, loadOrCreateIdentity, recordsDigest, type ChainEvent, type CollectorIdentity, type SealedHeader } from './identity/index.js';
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
export {
  ADAPTERS,
  ADAPTER_NAMES,
  AdapterOptionsSchema,
  adapterByName,
  normalisePlate,
  parseTime,
  PendingTransactionSchema,
  SUGGESTED_ITEM_MIN_SECONDS,
  validatePending,
  type Adapter,
  type AdapterContext,
  type AdapterName,
  type AdapterOptions,
  type MapResult,
  type PendingTransaction,
} from './adapters/index.js';
export { buildSnapshot, renderPrometheus, statusMetrics, writeMetricsFile, METRICS_FILE, type MetricsSnapshot, type StatusMetrics } from './metrics.js';
export { Appender, type AppendHooks } from './sources/appender.js';
export { CursorStore, type CursorResolution, type CursorSnapshot } from './sources/cursor-store.js';
export { DropFolder } from './sources/drop-folder.js';
export { FileTail, type SourceDeps } from './sources/file-tail.js';
export {
  DECISION_EVENT,
  HttpSource,
  linkDecisionTransport,
  type DecisionAnswer,
  type DecisionReason,
  type DecisionRequest,
  type DecisionResponse,
  type DecisionTransport,
} from './sources/http.js';
export { countRejects, RejectLog, REJECTS_FILE, type RejectEntry } from './sources/rejects.js';
export { startSources, type SourcesHandle, type StartSourcesOptions } from './sources/runtime.js';
export { SourceConfigSchema, type SourceConfig, type SourceConfigInput } from './sources/source-config.js';
export type { Source, SourceEvent, SourceStatus, SourceType } from './sources/types.js';
