/** 窗口办理 (counter staff and queue) family. */
import { defineRule } from '../engine/definition.js';

/** Business done at a counter or institution outside working hours, on a rest day or a holiday. */
export const counterOffHours = defineRule({
  id: 'counter.off_hours',
  kind: 'calendar',
  name: '非工作时间办理业务',
  family: 'counter',
  severity: 'medium',
  action: 'warn',
  description: '窗口或社会化机构在工作时间以外、休息日或法定节假日办理机动车、驾驶证、违法处理或查验业务',
  basis:
    'domain.md §6 窗口办理：工作时间以外/节假日办理业务（W）。工作时间为建议值 [sugg]：默认周一至周五08:00–18:00，' +
    '由规则管理员在工作日历中按机构类型配置；机构单独备案营业时间的，按其营业时间。节假日与调休按工作日历中' +
    '各年份录入的国务院安排（内置2026年）',
  when: [
    { op: 'in', field: 'kind', values: ['vehicle', 'licence', 'violation', 'check'] },
    { op: 'in', field: 'channel', values: ['counter', 'institution'] },
  ],
  explain: {
    outside_hours: '业务办理时间{date} {time}（{weekday}），不在工作时间{period}内',
    holiday: '业务办理时间{date} {time}（{weekday}）为法定节假日',
    rest_day: '业务办理时间{date} {time}（{weekday}）为休息日',
  },
});

/** Ticket → call wait at a service-hall counter (queue record, or business carrying queue times). */
export const counterLongWait = defineRule({
  id: 'counter.long_wait',
  kind: 'duration',
  name: '排队等候超时',
  family: 'counter',
  severity: 'low',
  action: 'warn',
  description: '服务大厅窗口从取号到叫号的等候时间达到阈值',
  basis: 'domain.md §6 窗口办理：取号至叫号等候≥3600秒为实际系统默认值 [src]（W）',
  when: [
    { op: 'in', field: 'kind', values: ['queue', 'vehicle', 'licence'] },
    { op: 'in', field: 'channel', values: ['counter'] },
  ],
  from: 'appliedAt',
  to: 'startedAt',
  params: { maxSeconds: 3600 },
  explain: { too_long: '窗口{counter}取号至叫号等候{seconds}秒，达到阈值{maxSeconds}秒' },
});

/** Call → finish handling time at a service-hall counter. */
export const counterLongHandling = defineRule({
  id: 'counter.long_handling',
  kind: 'duration',
  name: '窗口办理超时',
  family: 'counter',
  severity: 'low',
  action: 'warn',
  description: '服务大厅窗口从叫号到办结的办理时间达到阈值',
  basis: 'domain.md §6 窗口办理：叫号至办结≥900秒为实际系统默认值 [src]（W）',
  when: [
    { op: 'in', field: 'kind', values: ['queue', 'vehicle', 'licence'] },
    { op: 'in', field: 'channel', values: ['counter'] },
  ],
  from: 'startedAt',
  to: 'completedAt',
  params: { maxSeconds: 900 },
  explain: { too_long: '窗口{counter}叫号至办结用时{seconds}秒，达到阈值{maxSeconds}秒' },
});

/** Every refusal (退办) is warned and post-checked. */
export const counterRefusal = defineRule({
  id: 'counter.refusal',
  kind: 'field_predicate',
  name: '业务退办',
  family: 'counter',
  severity: 'low',
  action: 'warn',
  description: '窗口业务被退办，逐笔预警并事后核查退办理由',
  basis: 'domain.md §6 窗口办理：每笔退办均产生预警，为实际系统做法 [src]',
  when: [{ op: 'in', field: 'kind', values: ['vehicle', 'licence', 'queue'] }],
  cases: [{ reason: 'refused', test: { op: 'in', field: 'outcome', values: ['refused'] } }],
  explain: { refused: '业务员{staffId|staff}在窗口{counter}退办业务（流水号{lsh}），须核查退办理由' },
});

/** More than 10 refusals by one clerk in one local day. */
export const counterRefusalsDaily = defineRule({
  id: 'counter.refusals_daily',
  kind: 'window_count',
  name: '当日退办过多',
  family: 'counter',
  severity: 'medium',
  action: 'warn',
  description: '同一业务员一个自然日内退办笔数超过阈值',
  basis: 'domain.md §6 窗口办理：每人每天退办>10笔为实际系统默认值 [src]',
  when: [
    { op: 'in', field: 'kind', values: ['vehicle', 'licence', 'queue'] },
    { op: 'in', field: 'outcome', values: ['refused'] },
  ],
  key: { prefix: 'refusals-day', fields: ['institutionId', 'staffId'], bucket: 'local_day' },
  compare: 'gt',
  params: { windowDays: 1, threshold: 10 },
  explain: { exceeded: '业务员{staffId|staff}当日第{count}笔退办，阈值{threshold}笔' },
});

/** More than 8 no-show tickets (过号) per clerk per local day. */
export const counterNoShowDaily = defineRule({
  id: 'counter.no_show_daily',
  kind: 'window_count',
  name: '当日过号过多',
  family: 'counter',
  severity: 'low',
  action: 'warn',
  description: '同一业务员一个自然日内叫号未到（过号）的号数超过阈值，疑似跳号、选择性叫号',
  basis: 'domain.md §6 窗口办理：每人每天过号>8个为实际系统默认值 [src]；过号以排队记录 outcome=pending 表示',
  when: [
    { op: 'in', field: 'kind', values: ['queue'] },
    { op: 'in', field: 'outcome', values: ['pending'] },
  ],
  key: { prefix: 'no-show-day', fields: ['institutionId', 'staffId'], bucket: 'local_day' },
  compare: 'gt',
  params: { windowDays: 1, threshold: 8 },
  explain: { exceeded: '业务员{staffId|staff}当日第{count}个过号，阈值{threshold}个' },
});

/** Platform business at a counter with no queue ticket for its business number. */
export const counterNoQueueRecord = defineRule({
  id: 'counter.no_queue_record',
  kind: 'sequence',
  name: '无排队记录办理业务',
  family: 'counter',
  severity: 'high',
  action: 'warn',
  description: '综合应用平台中的窗口业务流水号在排队叫号系统中没有对应记录，疑似窗口外（后台）办理',
  basis:
    'domain.md §6 窗口办理：平台有业务流水而无对应排队记录即为窗口外办理，为实际系统做法 [src]（W，高）；' +
    '以平台流水（source veh_flow/drv_flow）为准，按流水号匹配1天内的排队记录 [sugg]',
  mode: 'absent',
  key: { prefix: 'queue-lsh', fields: ['lsh'] },
  first: { event: 'queued', when: [{ op: 'in', field: 'kind', values: ['queue'] }] },
  then: {
    event: 'platform_business',
    when: [
      { op: 'in', field: 'kind', values: ['vehicle', 'licence'] },
      { op: 'in', field: 'source', values: ['veh_flow', 'drv_flow'] },
      { op: 'in', field: 'channel', values: ['counter'] },
    ],
  },
  params: { windowDays: 1 },
  explain: { missing: '业务流水号{lsh}在近{windowDays}天内无对应排队叫号记录，疑似窗口外办理' },
});

/** Login or business from a terminal IP outside the whitelisted networks. */
export const counterIpNotWhitelisted = defineRule({
  id: 'counter.ip_not_whitelisted',
  kind: 'field_predicate',
  name: '终端IP不在白名单',
  family: 'counter',
  severity: 'high',
  action: 'hold',
  description: '窗口或社会化机构办理业务的终端IP不在白名单网段内，可实时拦截',
  basis:
    'domain.md §6 窗口办理：IP/MAC不在白名单登录或办理业务（B）；默认白名单为专网内网地址段10/8、172.16/12、192.168/16，' +
    '为建议值 [sugg]，部署时应配置为实际备案网段',
  when: [{ op: 'in', field: 'channel', values: ['counter', 'institution'] }],
  cases: [{ reason: 'ip_off_whitelist', test: { op: 'off_whitelist', field: 'ip', param: 'allowedCidrs', match: 'cidr' } }],
  params: { allowedCidrs: ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16'] },
  explain: { ip_off_whitelist: '业务终端IP {ip} 不在白名单网段（{allowedCidrs}）内' },
});

/** Login or business from a terminal MAC not filed in the whitelist (unchecked while the list is empty). */
export const counterMacNotWhitelisted = defineRule({
  id: 'counter.mac_not_whitelisted',
  kind: 'field_predicate',
  name: '终端MAC不在白名单',
  family: 'counter',
  severity: 'high',
  action: 'hold',
  description: '办理业务的终端MAC地址不在备案白名单内，可实时拦截；白名单为空时不检查',
  basis: 'domain.md §6 窗口办理：IP/MAC不在白名单（B）；白名单按终端备案配置（前缀匹配，如3C:97:0E），默认空表示未配置 [sugg]',
  when: [{ op: 'in', field: 'channel', values: ['counter', 'institution'] }],
  cases: [{ reason: 'mac_off_whitelist', test: { op: 'off_whitelist', field: 'mac', param: 'allowedMacs', match: 'prefix' } }],
  params: { allowedMacs: [] },
  explain: { mac_off_whitelist: '业务终端MAC {mac} 不在备案白名单内' },
});

/** One clerk account serving at two windows/terminals at the same time (queue records). */
export const counterConcurrentTerminals = defineRule({
  id: 'counter.concurrent_terminals',
  kind: 'overlap',
  name: '一号多机同时办理',
  family: 'counter',
  severity: 'high',
  action: 'hold',
  description: '同一业务员账号在两个终端（窗口）的叫号办理时段重叠，疑似账号共用',
  basis: 'domain.md §6 窗口办理：同一账号同时在两台终端上活动（B）；以排队叫号记录的叫号至办结时段判断，容忍重叠60秒为建议值 [sugg]',
  when: [{ op: 'in', field: 'kind', values: ['queue'] }],
  key: { prefix: 'staff-terminals', fields: ['staffId'] },
  member: [['deviceId'], ['counter']],
  from: 'startedAt',
  to: 'completedAt',
  params: { minOverlapSeconds: 60 },
  explain: {
    overlapped: '账号{staffId|staff}在{member|device}办理期间同时在{otherMember|device}办理（{otherStart|time}–{otherEnd|time}），重叠{overlapSeconds}秒，阈值{minOverlapSeconds}秒',
  },
});

/** The clerk is the applicant or the agent of the case they handle. */
export const counterSelfDealing = defineRule({
  id: 'counter.self_dealing',
  revision: 2,
  kind: 'registry',
  target: 'self_dealing',
  name: '经办人为本人或代办本人业务',
  family: 'counter',
  severity: 'high',
  action: 'hold',
  description: '经办人（窗口业务员、查验员、检验员、考试员、体检医生）是本笔业务的申请人或代办人，可实时拦截',
  basis:
    'domain.md §6 窗口办理：经办人办理本人为申请人或代办人的业务（B）。经办人身份以备案库中该人员身份号码的同钥哈希为准（按业务发生时的备案版本），' +
    '机动车/驾驶证流水只带经办人用户代码（JBR）；来源系统随记录上传经办人身份哈希时一并比对 [sugg]',
  when: [{ op: 'in', field: 'kind', values: ['vehicle', 'licence', 'violation', 'check', 'inspection', 'exam', 'medical'] }],
  field: 'staffId',
  hashField: 'staffIdHash',
  explain: {
    applicant: '经办人{staffId|staff}为本笔业务的申请人{masked}',
    agent: '经办人{staffId|staff}为本笔业务的代办人{masked}',
  },
});

/** Sensitive vehicle business types always get a post-check. */
export const counterSensitiveBusiness = defineRule({
  id: 'counter.sensitive_business',
  kind: 'field_predicate',
  name: '敏感业务强制核查',
  family: 'counter',
  severity: 'low',
  action: 'warn',
  description: '档案更正、锁定、解除监管、转出/注销恢复、电子档案补录、大吨小标更正等敏感机动车业务逐笔强制事后核查',
  basis:
    'domain.md §6 窗口办理：敏感业务类型M、S、T、U、W、X强制事后核查 [sugg]；以综合应用平台机动车流水（source veh_flow）的业务类型为准',
  when: [
    { op: 'in', field: 'kind', values: ['vehicle'] },
    { op: 'in', field: 'source', values: ['veh_flow'] },
  ],
  cases: [{ reason: 'sensitive', test: { op: 'in_list', field: 'ywlx', param: 'sensitiveTypes' } }],
  params: { sensitiveTypes: ['M', 'S', 'T', 'U', 'W', 'X'] },
  explain: { sensitive: '机动车业务类型{ywlx}属敏感业务（{sensitiveTypes}），须强制事后核查' },
});

/** A clerk's output far above clerks of the same institution type (scheduled). */
export const counterOutputOutlier = defineRule({
  id: 'counter.output_outlier',
  kind: 'peer_deviation',
  name: '业务员办件量异常偏高',
  family: 'counter',
  severity: 'medium',
  action: 'warn',
  description: '业务员统计周期内办理机动车、驾驶证业务笔数高于同类机构业务员平均水平3个标准差以上（定时研判）',
  basis: 'domain.md §6 窗口办理：业务员办件量高于同类z>3（W）；周期30天、至少3名同类人员为建议值 [sugg]',
  entity: 'staffId',
  peers: 'institution_type',
  metric: { type: 'count', label: '办件量', of: [{ op: 'in', field: 'kind', values: ['vehicle', 'licence'] }] },
  params: { periodDays: 30, method: 'sigma', k: 3, direction: 'above', minSamples: 1, minPeers: 3 },
  explain: { above: '业务员{entity|staff}近{periodDays}天办件{value}笔，同类人员平均{peerMean}笔，偏离{z}个标准差，阈值{k}' },
});

/**
 * Business of an unfiled or suspended institution acting for the police (a dealer, a
 * registration service station, a driving school, an exam venue, a hospital): a D quarterly grade
 * suspends its networked business for one to three months, filed in the registry as 暂停.
 * Inspection and check business has its own rule (inspection.station_suspended).
 */
export const counterInstitutionSuspended = defineRule({
  id: 'counter.institution_suspended',
  kind: 'registry',
  target: 'institution',
  name: '暂停或未备案机构办理业务',
  family: 'counter',
  severity: 'high',
  action: 'hold',
  description: '被暂停联网业务（如季度考核 D 级）或未备案的社会化机构仍在办理机动车、驾驶证、违法处理、考试或体检业务，可实时拦截',
  basis: 'domain.md §8 考核评价：D 级暂停联网业务 1–3 个月；§6 经营未备案为否决项；以备案库机构状态为准',
  when: [
    { op: 'in', field: 'kind', values: ['vehicle', 'licence', 'violation', 'exam', 'medical'] },
    { op: 'in', field: 'channel', values: ['institution'] },
  ],
  explain: {
    not_found: '机构{institutionId}未备案，仍在办理业务',
    suspended: '机构{institutionName}（{institutionId}）已暂停联网业务，仍在办理业务',
  },
});

/**
 * Closer checks (加强抽查) of an institution graded C for a quarter: filed in the registry for a
 * term, a share of its business is drawn for verification — the auditors' spot checks, worked
 * through the ordinary workflow (a spot check found normal is concluded as such).
 */
export const counterSpotCheck = defineRule({
  id: 'counter.spot_check',
  kind: 'registry',
  target: 'spot_check',
  name: '加强抽查机构业务抽检',
  family: 'counter',
  severity: 'low',
  action: 'warn',
  description: '备案为“加强抽查”的机构（如季度考核 C 级），按比例随机抽取其办理的业务供核查；同一笔业务每次判断结果相同',
  basis: 'domain.md §8 考核评价：C 级书面警示、加强抽查；抽查比例 10% 为建议值 [sugg]',
  when: [{ op: 'in', field: 'kind', values: ['vehicle', 'licence', 'violation', 'exam', 'medical', 'inspection', 'check'] }],
  params: { samplePercent: 10 },
  explain: { sampled: '机构{institutionName}处于加强抽查期，本笔业务按{samplePercent}%的比例被抽中核查' },
});

export const COUNTER_RULES = [
  counterOffHours,
  counterLongWait,
  counterLongHandling,
  counterRefusal,
  counterRefusalsDaily,
  counterNoShowDaily,
  counterNoQueueRecord,
  counterIpNotWhitelisted,
  counterMacNotWhitelisted,
  counterConcurrentTerminals,
  counterSelfDealing,
  counterSensitiveBusiness,
  counterInstitutionSuspended,
  counterSpotCheck,
  counterOutputOutlier,
] as const;
