import { z } from 'zod';

/** Epoch milliseconds (UTC). All times on the wire and in rules are numbers, never Date. */
export const EpochMs = z.number().int().min(946684800000).max(4102444800000);

export const TransactionKind = z.enum([
  'vehicle', // 机动车业务 (VEH_FLOW)
  'licence', // 驾驶证业务 (DRV_FLOW)
  'check', // 机动车查验
  'inspection', // 机动车安全技术检验
  'exam', // 驾驶人考试
  'violation', // 违法处理/记分
  'medical', // 体检
  'queue', // 排队叫号
  'online', // 12123 互联网业务
]);
export type TransactionKind = z.infer<typeof TransactionKind>;

export const TRANSACTION_KIND_LABELS: Readonly<Record<TransactionKind, string>> = {
  vehicle: '机动车业务',
  licence: '驾驶证业务',
  check: '机动车查验',
  inspection: '安全技术检验',
  exam: '驾驶人考试',
  violation: '违法处理',
  medical: '驾驶人体检',
  queue: '排队叫号',
  online: '互联网业务',
};

export const Channel = z.enum(['counter', 'institution', 'self_service', 'internet']);
export type Channel = z.infer<typeof Channel>;

/**
 * A person as the hub sees them: never the raw identity number. `idHash` is a keyed hash computed
 * at the counter (HMAC-SHA256, hex); `masked` is the display form, e.g. 4512**********123X.
 */
export const PersonRef = z.object({
  idHash: z.string().regex(/^[0-9a-f]{16,128}$/, 'idHash must be a hex keyed hash'),
  masked: z.string().max(32),
});
export type PersonRef = z.infer<typeof PersonRef>;

export const VehicleRef = z.object({
  /** 号牌种类 */
  hpzl: z.string().regex(/^\d{2}$/),
  /** 号牌号码, e.g. 桂M12345 */
  hphm: z.string().max(16).optional(),
  /** 车辆识别代号 (17 characters) */
  vin: z.string().length(17).optional(),
  /** Keyed hash of the registered owner's identity number, when known. */
  ownerIdHash: z.string().optional(),
});
export type VehicleRef = z.infer<typeof VehicleRef>;

export const LicenceRef = z.object({
  /** Keyed hash of the licence (archive) number. */
  numberHash: z.string().min(8),
  /** 准驾车型 */
  zjcx: z.string().max(8).optional(),
});
export type LicenceRef = z.infer<typeof LicenceRef>;

/**
 * The normalised transaction (domain.md §9). One record per business event at a counter,
 * lane, exam route or online channel. `id` is globally unique and stable across re-sends
 * (collectors use `${collectorId}:${seq}`), so it is the dedup key all the way to ClickHouse.
 */
export const TransactionSchema = z.object({
  id: z.string().min(1).max(128),
  collectorId: z.string().min(1).max(64),
  /** Collector sequence number, strictly increasing per collector. */
  seq: z.number().int().nonnegative(),
  /** Source system: simulator, veh_flow, drv_flow, 18c, check_av, exam, queue … */
  source: z.string().min(1).max(32),
  channel: Channel,
  institutionId: z.string().min(1).max(64),
  /** Counter window, inspection line or exam route. */
  counter: z.string().max(32).optional(),
  staffId: z.string().max(64).optional(),
  deviceId: z.string().max(64).optional(),
  ip: z.string().max(45).optional(),
  mac: z.string().max(17).optional(),
  /** 流水号 (business number) and sub-system number. */
  lsh: z.string().max(32).optional(),
  subLsh: z.string().max(32).optional(),
  kind: TransactionKind,
  /** 业务类型 / 业务原因 */
  ywlx: z.string().max(4).optional(),
  ywyy: z.string().max(8).optional(),
  subject: PersonRef.optional(),
  agent: PersonRef.optional(),
  vehicle: VehicleRef.optional(),
  licence: LicenceRef.optional(),
  /** When the business happened (the counter's clock). Rules reason on this time. */
  occurredAt: EpochMs,
  appliedAt: EpochMs.optional(),
  startedAt: EpochMs.optional(),
  endedAt: EpochMs.optional(),
  completedAt: EpochMs.optional(),
  /** When the collector captured the record; the start of pipeline latency. */
  capturedAt: EpochMs,
  outcome: z.enum(['done', 'refused', 'pending', 'pass', 'fail']).optional(),
  measurements: z.record(z.string(), z.number()).optional(),
  /** Evidence references, e.g. photo SHA-256 hashes. */
  evidence: z.array(z.string().max(128)).max(64).optional(),
});
export type Transaction = z.infer<typeof TransactionSchema>;
