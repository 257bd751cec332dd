/**
 * Chinese labels (with units and help text) for the codes and keys the office screens show:
 * rule parameters, the values a rule hit records (`values_json`), hit reasons, channels,
 * outcomes and measurement units. One place, so a rule parameter reads the same on the release
 * screen, in a warning's explanation table and in exports.
 */

/** A parameter of a rule definition: what it means, its unit, and a sentence of help. */
export interface ParamLabel {
  label: string;
  /** Unit shown beside the field ('' for none); 'list' = a list of codes or addresses. */
  unit: string;
  help: string;
}

/** Every parameter name the built-in pack and the rule kinds use (engine/definition.ts, pack/*.ts). */
export const PARAM_LABELS: Readonly<Record<string, ParamLabel>> = {
  windowDays: { label: '统计时间窗', unit: '天', help: '向前统计的天数，窗口内的记录一并计数或比对' },
  windowHours: { label: '统计时间窗', unit: '小时', help: '向前统计的小时数（与“天”二选一）' },
  threshold: { label: '预警阈值', unit: '次', help: '时间窗内的次数达到该值即预警' },
  minSeconds: { label: '最短用时', unit: '秒', help: '用时少于该值即预警' },
  maxSeconds: { label: '最长用时', unit: '秒', help: '用时达到该值即预警' },
  minOverlapSeconds: { label: '最短重叠时长', unit: '秒', help: '同一人员或线路的两段业务时间重叠达到该值即预警' },
  nightStart: { label: '夜间开始', unit: '时:分', help: '夜间时段开始（含），如 22:00' },
  nightEnd: { label: '夜间结束', unit: '时:分', help: '夜间时段结束（不含），可早于开始时间（跨零点）' },
  periodDays: { label: '统计周期', unit: '天', help: '同类比对所统计的天数' },
  method: { label: '偏离判定方法', unit: '', help: '标准差倍数：偏离超过 k 个标准差；百分点：比率相差超过 pp 个百分点' },
  k: { label: '标准差倍数', unit: '倍', help: '与同类均值相差超过该倍数的标准差即预警' },
  pp: { label: '偏离百分点', unit: '个百分点', help: '比率与同类相差超过该百分点即预警' },
  direction: { label: '偏离方向', unit: '', help: '高于、低于同类，或两者均预警' },
  minSamples: { label: '最少样本数', unit: '笔', help: '业务量不足该值的对象不参与判定' },
  minPeers: { label: '最少同类数', unit: '个', help: '同类对象少于该值时不作判定' },
  minAge: { label: '年龄下限', unit: '周岁', help: '申请人年龄达到该值即预警' },
  minScore: { label: '相似度下限', unit: '分', help: '比对相似度低于该值即预警（0–100）' },
  allowedCidrs: { label: '允许的 IP 网段', unit: 'list', help: '业务终端 IP 须在这些网段内，每行一个，如 10.0.0.0/8' },
  allowedMacs: { label: '允许的 MAC 地址', unit: 'list', help: '业务终端 MAC 须在此名单内，每行一个；留空表示不限' },
  sensitiveTypes: { label: '敏感业务类型', unit: 'list', help: '这些机动车业务类型代码须强制事后核查，每行一个' },
  samplePercent: { label: '抽查比例', unit: '％', help: '加强抽查期内，机构办理的业务按该比例随机抽取核查（0–100）' },
};

/** Choice labels of enumerated parameters. */
export const PARAM_CHOICE_LABELS: Readonly<Record<string, Readonly<Record<string, string>>>> = {
  method: { sigma: '标准差倍数', pp: '百分点' },
  direction: { above: '高于同类', below: '低于同类', both: '高于或低于' },
};

/** Keys of a rule hit's recorded values (`values_json`), besides the parameters above. */
export const HIT_VALUE_LABELS: Readonly<Record<string, ParamLabel>> = {
  reason: { label: '触发原因', unit: '', help: '' },
  count: { label: '计数', unit: '次', help: '' },
  seconds: { label: '用时', unit: '秒', help: '' },
  durationSeconds: { label: '用时', unit: '秒', help: '' },
  overlapSeconds: { label: '重叠时长', unit: '秒', help: '' },
  elapsedDays: { label: '间隔', unit: '天', help: '' },
  elapsedHours: { label: '间隔', unit: '小时', help: '' },
  firstAt: { label: '前序业务时间', unit: 'time', help: '' },
  firstId: { label: '前序业务记录', unit: '', help: '' },
  staffId: { label: '经办人员', unit: 'staff', help: '' },
  role: { label: '岗位', unit: 'role', help: '' },
  roleLabel: { label: '岗位', unit: '', help: '' },
  filedRoleLabel: { label: '备案岗位', unit: '', help: '' },
  status: { label: '备案状态', unit: '', help: '' },
  validFrom: { label: '备案有效期起', unit: 'time', help: '' },
  validTo: { label: '备案有效期至', unit: 'time', help: '' },
  licenceClass: { label: '准驾车型', unit: '', help: '' },
  permittedClasses: { label: '准考车型', unit: '', help: '' },
  institutionId: { label: '机构', unit: 'institution', help: '' },
  institutionName: { label: '机构名称', unit: '', help: '' },
  organisationId: { label: '授权机构', unit: 'institution', help: '' },
  who: { label: '当事人类别', unit: '', help: '' },
  masked: { label: '证件号码（脱敏）', unit: '', help: '' },
  listName: { label: '名单', unit: '', help: '' },
  note: { label: '说明', unit: '', help: '' },
  date: { label: '日期', unit: '', help: '' },
  time: { label: '时刻', unit: '', help: '' },
  weekday: { label: '星期', unit: '', help: '' },
  period: { label: '工作时段', unit: '', help: '' },
  dayType: { label: '日期类型', unit: '', help: '' },
  nightBand: { label: '夜间时段', unit: '', help: '' },
  entity: { label: '比对对象', unit: '', help: '' },
  metric: { label: '比对指标', unit: '', help: '' },
  value: { label: '本对象数值', unit: '', help: '' },
  peerMean: { label: '同类平均', unit: '', help: '' },
  z: { label: '偏离（标准差）', unit: '倍', help: '' },
  zAbs: { label: '偏离绝对值（标准差）', unit: '倍', help: '' },
  deviationPp: { label: '偏离', unit: '个百分点', help: '' },
  deviationPpAbs: { label: '偏离绝对值', unit: '个百分点', help: '' },
  member: { label: '本条业务', unit: '', help: '' },
  otherMember: { label: '重叠的业务', unit: '', help: '' },
  reused: { label: '重复使用', unit: '', help: '' },
  subjectAge: { label: '申请人年龄', unit: '周岁', help: '' },
  ip: { label: 'IP 地址', unit: '', help: '' },
  mac: { label: 'MAC 地址', unit: '', help: '' },
  deviceId: { label: '设备', unit: '', help: '' },
  deviceKind: { label: '设备类别', unit: '', help: '' },
  filedInstitution: { label: '设备备案机构', unit: 'institution', help: '' },
  calibrationValidTo: { label: '检定有效期至', unit: '', help: '' },
  via: { label: '身份比对依据', unit: '', help: 'registry = 备案库中经办人的身份哈希；record = 记录自带的经办人身份哈希' },
  counter: { label: '窗口/线道', unit: '', help: '' },
  lsh: { label: '业务流水号', unit: '', help: '' },
  ywlx: { label: '业务类型', unit: '', help: '' },
  samples: { label: '样本数', unit: '笔', help: '' },
  peers: { label: '同类数', unit: '个', help: '' },
  samplePercent: { label: '抽查比例', unit: '％', help: '' },
};

/** Why a rule fired (`reason` in the hit values). */
export const HIT_REASON_LABELS: Readonly<Record<string, string>> = {
  exceeded: '超过阈值',
  too_short: '用时过短',
  too_long: '用时过长',
  missing: '缺少记录',
  not_found: '未备案（查无此人/此机构）',
  not_approved: '备案未通过',
  wrong_role: '岗位与备案不符',
  not_yet_valid: '备案尚未生效',
  expired: '备案已过期',
  class_not_permitted: '超出准考车型',
  suspended: '已暂停',
  sampled: '加强抽查抽中',
  listed: '在名单内',
  outside_org: '超出授权机构',
  night: '夜间办理',
  outside_hours: '工作时间以外',
  holiday: '节假日',
  rest_day: '休息日',
  overlapped: '时间重叠',
  reused: '重复使用',
  followed: '短期内相继发生',
  above: '高于同类',
  below: '低于同类',
  refused: '退办',
  sensitive: '敏感业务',
  ip_off_whitelist: 'IP 不在白名单',
  mac_off_whitelist: 'MAC 不在白名单',
  elderly: '高龄申请人',
  mismatch: '比对不一致',
  insufficient: '学时不足',
  below_minimum: '低于最短用时',
  below_route_minimum: '低于路线最短用时',
  revoked: '已撤销',
  before_start: '早于项目开始',
  after_end: '晚于项目结束',
  agent: '代办人',
  applicant: '申请人',
  other_institution: '备案于其他机构',
  calibration_expired: '检定已过期',
  none: '无',
};

/** 办理渠道 (TransactionSchema.channel). */
export const CHANNEL_LABELS: Readonly<Record<string, string>> = {
  counter: '窗口',
  institution: '社会化机构',
  self_service: '自助终端',
  internet: '互联网',
};

/** 办理结果 (TransactionSchema.outcome). */
export const OUTCOME_LABELS: Readonly<Record<string, string>> = { done: '已办结', refused: '退办/退回', pending: '办理中/过号', pass: '通过', fail: '不通过' };

/** Units of the measurements in MEASUREMENT_NAMES ('time' = epoch ms shown as a time). */
export const MEASUREMENT_UNITS: Readonly<Record<string, string>> = {
  points: '分',
  fine: '元',
  subject: '',
  score: '分',
  faceMatchScore: '分',
  trainingHours: '学时',
  requiredHours: '学时',
  routeMinSeconds: '秒',
  manualJudgement: '',
  filedMinSeconds: '秒',
  calibrationValidTo: 'time',
  photoTakenAt: 'time',
  insuranceValidTo: 'time',
};
