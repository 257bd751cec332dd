/**
 * The collector family of warnings (采集终端): raised by the hub itself, not by the rule engine,
 * but stored in `warnings` and sent to the wall like any other. They belong to no transaction
 * (`transactionId` ''); their ids are deterministic in what they describe (the batch, the gap,
 * the silence episode), so the same finding is never stored or shown twice.
 */
import { COUNTY_BY_CODE, warningId, type HitValues, type Severity, type Warning } from '@jianguan/rules';
import type { FastifyBaseLogger } from 'fastify';
import type { Registry } from '../registry/registry.js';
import { warningRow } from '../store/repo.js';
import type { Store } from '../store/store.js';
import { warningExists } from './repo.js';
import { localMinute } from '../time/business-time.js';
import { emit } from '../telemetry/events.js';

export const COLLECTOR_RULES = {
  'collector.tamper': { name: '采集终端数据被篡改', severity: 'high' },
  'collector.gap': { name: '采集终端数据断档', severity: 'medium' },
  'collector.silent': { name: '采集终端长时间静默', severity: 'medium' },
} as const satisfies Record<string, { name: string; severity: Severity }>;
export type CollectorRuleId = keyof typeof COLLECTOR_RULES;
export const COLLECTOR_RULE_VERSION = '1';

/** 'YYYY-MM-DD HH:MM' in China Standard Time. */
export const cstMinute = localMinute;
const short = (h: string) => h.slice(0, 12);

export interface CollectorWarningInput {
  ruleId: CollectorRuleId;
  /** What makes this finding unique (hashed into the warning id with the rule id). */
  key: string;
  collectorId: string;
  institutionId: string;
  batchId: string;
  at: number;
  explanation: string;
  values: HitValues;
}

export function buildCollectorWarning(i: CollectorWarningInput, county: string): Warning {
  const rule = COLLECTOR_RULES[i.ruleId];
  return {
    id: warningId(i.ruleId, i.key),
    ruleId: i.ruleId,
    ruleName: rule.name,
    ruleVersion: COLLECTOR_RULE_VERSION,
    family: 'collector',
    severity: rule.severity,
    action: 'warn',
    transactionId: '',
    batchId: i.batchId,
    collectorId: i.collectorId,
    institutionId: i.institutionId,
    county,
    occurredAt: i.at,
    capturedAt: i.at,
    raisedAt: i.at,
    explanation: i.explanation,
    values: i.values,
    subjectMasked: '',
  };
}

// ---- the three findings ------------------------------------------------------------------------

export type TamperReason = 'unsigned' | 'digest_mismatch' | 'signature_invalid' | 'chain_conflict';

export function tamperWarning(p: {
  collectorId: string;
  institutionId: string;
  batchId: string;
  batchSeq: number | undefined;
  reason: TamperReason;
  /** Identifies this exact submission: digest + signature, or the conflicting hash. */
  fingerprint: string;
  expectedPrev?: string;
  gotPrev?: string;
  at: number;
}): CollectorWarningInput {
  const seqText = p.batchSeq === undefined ? '' : `（批次序号 ${p.batchSeq}）`;
  const what: Record<TamperReason, string> = {
    unsigned: `未签名，而该终端已备案公钥，疑似伪造`,
    digest_mismatch: `的业务记录与签名时的摘要不符，记录在签名后被修改`,
    signature_invalid: `签名校验失败，疑似伪造或被篡改`,
    chain_conflict: `与已接收的数据链不一致（应接续 ${short(p.expectedPrev ?? '')}，实际接续 ${short(p.gotPrev ?? '')}），疑似历史数据被改写`,
  };
  return {
    ruleId: 'collector.tamper',
    key: `${p.collectorId}#${p.reason}#${p.batchSeq ?? '-'}#${p.fingerprint}`,
    collectorId: p.collectorId,
    institutionId: p.institutionId,
    batchId: p.batchId,
    at: p.at,
    explanation: `采集终端 ${p.collectorId} 提交的批次 ${p.batchId}${seqText}${what[p.reason]}，已拒收`,
    values: { reason: p.reason, batchSeq: p.batchSeq ?? -1, batchId: p.batchId },
  };
}

export function gapWarning(p: {
  collectorId: string;
  institutionId: string;
  batchId: string;
  keyFingerprint: string;
  expected: number;
  got: number;
  at: number;
}): CollectorWarningInput {
  const missing = p.got - p.expected;
  const range = missing === 1 ? `第 ${p.expected} 批` : `第 ${p.expected}～${p.got - 1} 批`;
  return {
    ruleId: 'collector.gap',
    key: `${p.collectorId}#${p.keyFingerprint}#${p.expected}-${p.got - 1}`,
    collectorId: p.collectorId,
    institutionId: p.institutionId,
    batchId: p.batchId,
    at: p.at,
    explanation: `采集终端 ${p.collectorId} 批次序号应为 ${p.expected}，实际收到 ${p.got}，缺失 ${missing} 个批次（${range}），可能有业务数据未上传或被删除`,
    values: { expectedBatchSeq: p.expected, receivedBatchSeq: p.got, missingBatches: missing },
  };
}

export function silentWarning(p: {
  collectorId: string;
  institutionId: string;
  institutionName: string;
  /** Last sign of life; null = never seen since `since`. */
  lastSeenAt: number | null;
  since: number;
  silentMinutes: number;
  thresholdMinutes: number;
  at: number;
}): CollectorWarningInput {
  const last = p.lastSeenAt === null ? `自 ${cstMinute(p.since)} 起从未连接` : `最后联系时间 ${cstMinute(p.lastSeenAt)}`;
  return {
    ruleId: 'collector.silent',
    // One silence episode = one last sign of life.
    key: `${p.collectorId}#silent#${p.lastSeenAt ?? `never@${p.since}`}`,
    collectorId: p.collectorId,
    institutionId: p.institutionId,
    batchId: '',
    at: p.at,
    explanation: `采集终端 ${p.collectorId}（${p.institutionName}）在工作时间已静默 ${p.silentMinutes} 分钟，超过阈值 ${p.thresholdMinutes} 分钟，${last}`,
    values: { silentMinutes: p.silentMinutes, thresholdMinutes: p.thresholdMinutes, lastSeenAt: p.lastSeenAt ?? 0 },
  };
}

// ---- raising ------------------------------------------------------------------------------------

const REMEMBER = 10_000;

/** Stores a collector warning once and hands it to the wall; repeats are recognised by id. */
export class CollectorWarnings {
  private readonly raised = new Map<string, true>();

  constructor(
    private readonly deps: {
      store: Store;
      registry: Registry;
      log: FastifyBaseLogger;
      publish: (warnings: readonly Warning[]) => void;
    },
  ) {}

  /** Returns the warning when it is new, undefined when it was raised before. */
  async raise(input: CollectorWarningInput): Promise<Warning | undefined> {
    const county = this.deps.registry.institution(input.institutionId)?.county ?? '';
    const w = buildCollectorWarning(input, county);
    if (this.raised.has(w.id)) return undefined;
    if (await warningExists(this.deps.store, w.id)) {
      this.remember(w.id);
      return undefined;
    }
    await this.deps.store.insert('warnings', [warningRow(w)]);
    this.remember(w.id);
    emit(this.deps.log, input.ruleId, {
      warningId: w.id,
      collectorId: w.collectorId,
      batchId: w.batchId,
      county: COUNTY_BY_CODE.get(county)?.name ?? county,
      values: w.values,
    });
    this.deps.publish([w]);
    return w;
  }

  private remember(id: string): void {
    this.raised.set(id, true);
    if (this.raised.size > REMEMBER) this.raised.delete(this.raised.keys().next().value as string);
  }
}
