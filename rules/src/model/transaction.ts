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
  /**
   * OPTIONAL. Year of birth (digits 7–10 of the identity number), taken at the counter together
   * with the hash. Only the year travels: enough for age rules (agent.elderly_applicant), which
   * reckon age as (local year of occurredAt − birthYear).
   */
  birthYear: z.number().int().min(1900).max(2100).optional(),
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
  /**
   * OPTIONAL. True when the vehicle's product announcement / type approval (车辆产品公告) has
   * been revoked, as looked up by the source system (vehicle.approval_revoked).
   */
  approvalRevoked: z.boolean().optional(),
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
  /** Source system, see SOURCE_SYSTEMS (simulator, veh_flow, drv_flow, 18c, check_av, exam, queue …). */
  source: z.string().min(1).max(32),
  channel: Channel,
  institutionId: z.string().min(1).max(64),
  /** Counter window, inspection line or exam route. */
  counter: z.string().max(32).optional(),
  staffId: z.string().max(64).optional(),
  /**
   * OPTIONAL. Keyed hash of the operating staff member's identity number (from the business
   * system's user table), same key as subject/agent hashes: lets counter.self_dealing see a clerk
   * handling their own or their agent's case.
   */
  staffIdHash: z.string().regex(/^[0-9a-f]{16,128}$/, 'staffIdHash must be a hex keyed hash').optional(),
  deviceId: z.string().max(64).optional(),
  /**
   * OPTIONAL. Exam venue (考场代码 KCDM) within the institution: an exam centre runs several
   * venues, and exam.examiner_two_venues tells them apart by this.
   */
  venue: z.string().max(32).optional(),
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
  /**
   * OPTIONAL. Keyed hash of the contact phone number given for the business (applicant's or
   * agent's), same key as the identity hashes: agent.phone_shared, points.phone_many_licences.
   */
  phoneHash: z.string().regex(/^[0-9a-f]{16,128}$/, 'phoneHash must be a hex keyed hash').optional(),
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
  /** Numeric values of the record; names the rule pack reads are listed in MEASUREMENT_NAMES. */
  measurements: z.record(z.string(), z.number()).optional(),
  /** Evidence references, e.g. photo SHA-256 hashes. */
  evidence: z.array(z.string().max(128)).max(64).optional(),
});
export type Transaction = z.infer<typeof TransactionSchema>;

/**
 * Source systems (`source`) the built-in pack names in its filters. `source` stays an open string;
 * these are the conventions. Rules that need a feed's authoritative timestamps or codes (lane
 * overlaps, capacity, sensitive business types, missing queue records) apply only to that feed.
 */
export const SOURCE_SYSTEMS: Readonly<Record<string, string>> = {
  simulator: '模拟数据（采集端模拟器）',
  veh_flow: '综合应用平台机动车业务流水（VEH_FLOW）',
  drv_flow: '综合应用平台驾驶证业务流水（DRV_FLOW）',
  '18c': '机动车检验监管接口（18C52/55/58/59 检验及项目开始结束）',
  check_av: '机动车查验音视频事件',
  exam: '驾驶人考试系统',
  queue: '排队叫号系统',
  medical: '体检信息上传',
  '12123': '互联网交通安全综合服务管理平台',
};

/**
 * Measurement names the rule pack reads (`measurements.<name>` in rule definitions). A closed
 * list, like FIELD_PATHS, so a misspelt name is a definition error rather than a silent never.
 * Times are epoch milliseconds.
 */
export const MEASUREMENT_NAMES = {
  points: '记分分值（违法处理）',
  fine: '罚款金额（违法处理）',
  subject: '考试科目',
  score: '考试成绩',
  faceMatchScore: '考生签到照片与档案照片比对相似度（0–100）',
  trainingHours: '已完成培训学时',
  requiredHours: '预约该科目应完成的学时',
  routeMinSeconds: '考试路线/项目规定的最短用时（秒）',
  manualJudgement: '人工评判或误判复考标记（1 = 是）',
  filedMinSeconds: '该检测线、设备备案的检验项目最短用时（秒）；有此值的记录为检验项目记录',
  calibrationValidTo: '检测设备检定/校准有效期至（epoch ms）',
  photoTakenAt: '检验照片拍摄时间（epoch ms）',
  insuranceValidTo: '交强险有效期至（epoch ms；0 = 未查询到保单）',
} as const;
export type MeasurementName = keyof typeof MEASUREMENT_NAMES;

/**
 * Record conventions the pack relies on (documented, not enforced by the schema):
 * - `kind: 'queue'` records are queue-and-call tickets: appliedAt = ticket taken (取号),
 *   startedAt = called (叫号), completedAt = finished (办结); outcome 'done' = served,
 *   'refused' = 退办, 'pending' = no-show (过号未办理); counter = window, staffId = clerk.
 * - Check records with outcome 'refused' were rejected at remote review (远程审核退回).
 * - Inspection records carrying measurements.filedMinSeconds are item records (18C55/58);
 *   the others are whole tests (18C52/59).
 */
