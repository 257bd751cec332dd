/**
 * UI strings. Chinese is the default and the only locale the wall is designed for; English is a
 * cheap switch for visitors (`?lang=en` or the 中/EN button). Data from the hub (rule names,
 * explanations, institution and county names) is Chinese and shown as it comes.
 */
import type { RuleFamily, Severity } from '@jianguan/rules';

export type Locale = 'zh' | 'en';

const zh = {
  title: '河池市车驾管业务综合监管指挥中心',
  subtitle: '车驾管业务实时监管',
  'conn.connecting': '连接中',
  'conn.connected': '已连接',
  'conn.reconnecting': '重连中',
  'conn.disconnected': '已断开',
  'stale.banner': '与中心服务的连接中断，数据暂停更新，正在自动重连…',
  lastUpdate: '最后更新',
  never: '—',
  'kpi.transactions': '今日业务量',
  'kpi.warnings': '今日预警',
  'kpi.holds': '实时拦截',
  'kpi.deadLetters': '死信记录',
  'kpi.collectors': '在线采集终端',
  'kpi.unit.transactions': '笔',
  'kpi.unit.warnings': '条',
  'kpi.unit.holds': '笔',
  'kpi.unit.deadLetters': '条',
  'kpi.unit.collectors': '台',
  'kpi.sub.rate': '预警率 {rate}',
  'kpi.sub.holds': '占预警 {share}',
  'kpi.sub.deadLetters': '校验未通过，待核查',
  'kpi.sub.collectors': '实时接入',
  'kpi.sub.day': '统计日 {day}',
  'map.title': '全市预警态势',
  'map.legend': '预警率（%，固定分级）',
  'map.noData': '无业务',
  'map.schematic': '示意图，非标准地图',
  'map.warnings': '预警',
  'map.transactions': '业务',
  'map.institutions': '监管机构',
  'map.pulse': '新预警',
  'map.unplaced': '位置未备案（画在县城旁）',
  'map.labelHint': '县区标注：预警数 / 业务量',
  'ticker.title': '实时预警',
  'ticker.empty': '暂无预警',
  'ticker.hold': '拦截',
  'ticker.count': '最近 {n} 条',
  'ticker.business': '业务',
  'rank.rules': '今日规则命中排行',
  'rank.institutions': '机构预警排行',
  'rank.empty': '暂无数据',
  'rank.times': '次',
  'rank.rate': '预警率',
  'kpi.onTime': '今日核查及时率',
  'kpi.overdue': '超期未办',
  'kpi.unit.overdue': '条',
  'kpi.sub.onTime': '已办结 {n} 条，及时 {m} 条',
  'kpi.sub.overdue': '已超期督办，尚未办结',
  'lag.label': '管道延迟',
  'lag.none': '—',
  'ingest.down': '数据接入中断',
  'health.title': '采集终端状态',
  'health.silent': '静默',
  'health.gap': '断档',
  'health.tamper': '篡改',
  'health.today': '今日',
  'health.ok': '今日采集终端运行正常',
  'rank.byWarnings': '按预警',
  'rank.byScore': '按考核得分',
  'rank.scores': '机构考核得分排行',
  'rank.points': '分',
  'rank.veto': '一票否决',
  'rank.month': '{month} 月度',
  'view.overview': '总览',
  'view.ranking': '排名',
  'view.health': '采集健康',
  'view.next': '{s} 秒后切换',
  'view.keys': '←/→ 切换',
  'health.pipeline': '数据管道',
  'health.latest': '最新采集终端预警',
  'health.lagHint': '采集 → 入库 P95（近 5 分钟）',
  'health.lagOk': '正常',
  'health.lagWarn': '偏慢',
  'health.lagBad': '严重滞后',
  'health.counties': '各区县今日业务量',
  'lang.switch': 'EN',
  'loading.title': '正在接收今日数据…',
  'loading.connecting': '正在连接中心服务',
  'loading.waiting': '已连接，等待中心服务发送今日统计',
  'loading.retrying': '中心服务暂不可达，正在自动重试',
  'loading.auth': '此屏幕尚未获准接入：请以大屏账号登录，或由管理员配置大屏令牌',
  'rank.scoresWorst': '机构考核得分（由低到高）',
  'rank.unranked': '{n} 家机构本月无业务，不参与排名',
  'rank.noBusiness': '本月尚无业务，暂不排名',
  'rank.computing': '正在读取本月考核得分…',
  'rank.counties': '区县预警排行',
  'rank.countySub': '业务 {n} 笔',
  'grade.A': 'A 优秀',
  'grade.B': 'B 良好',
  'grade.C': 'C 警示',
  'grade.D': 'D 不合格',
  'overdue.title': '超期督办',
  'overdue.total': '共 {n} 条',
  'overdue.empty': '暂无超期未办预警',
  'overdue.for': '超期 {d}',
  'duration.min': '{n} 分钟',
  'duration.hour': '{n} 小时',
  'duration.day': '{n} 天',
  'trend.transactions': '今日业务量逐时对比',
  'trend.warnings': '今日预警逐时对比',
  'trend.today': '今日',
  'trend.yesterday': '昨日',
  'trend.sameTime': '截至 {h} 时　今日 {a}　昨日同期 {b}',
  'business.title': '今日业务类型构成',
  'business.warned': '触发预警 {n} 笔',
  'business.empty': '今日尚无业务',
  'view.trend': '趋势',
  'alert.high': '高危预警',
  'alert.hold': '实时拦截',
  'alert.tamper': '终端篡改',
  'alert.more': '另有 {n} 条',
  'unit.items': '条',
  'state.raised': '待分派',
  'state.assigned': '已分派',
  'state.acknowledged': '已签收',
  'state.verifying': '核查中',
  'state.concluded': '已出结论',
  'state.disposed': '已处置',
  'state.reviewed': '已审核',
  'state.closed': '已办结',
  'scope.county': '本屏范围：{name}',
  'map.titleCounty': '{name}预警态势',
} as const;

export type MessageKey = keyof typeof zh;

const en: Record<MessageKey, string> = {
  title: 'Hechi Vehicle & Licence Supervision Centre',
  subtitle: 'Real-time supervision',
  'conn.connecting': 'Connecting',
  'conn.connected': 'Connected',
  'conn.reconnecting': 'Reconnecting',
  'conn.disconnected': 'Disconnected',
  'stale.banner': 'Connection to the hub lost — figures paused, reconnecting…',
  lastUpdate: 'Updated',
  never: '—',
  'kpi.transactions': 'Transactions today',
  'kpi.warnings': 'Warnings today',
  'kpi.holds': 'Real-time holds',
  'kpi.deadLetters': 'Dead letters',
  'kpi.collectors': 'Collectors online',
  'kpi.unit.transactions': '',
  'kpi.unit.warnings': '',
  'kpi.unit.holds': '',
  'kpi.unit.deadLetters': '',
  'kpi.unit.collectors': '',
  'kpi.sub.rate': 'Warning rate {rate}',
  'kpi.sub.holds': '{share} of warnings',
  'kpi.sub.deadLetters': 'Rejected records to review',
  'kpi.sub.collectors': 'Connected now',
  'kpi.sub.day': 'Day {day}',
  'map.title': 'City warning map',
  'map.legend': 'Warning rate (%, fixed classes)',
  'map.noData': 'No business',
  'map.schematic': 'Schematic, not a standard map',
  'map.warnings': 'Warnings',
  'map.transactions': 'Business',
  'map.institutions': 'Institutions',
  'map.pulse': 'New warning',
  'map.unplaced': 'Place not filed (drawn by the county seat)',
  'map.labelHint': 'Labels: warnings / transactions',
  'ticker.title': 'Live warnings',
  'ticker.empty': 'No warnings yet',
  'ticker.hold': 'HOLD',
  'ticker.count': 'Last {n}',
  'ticker.business': 'at',
  'rank.rules': 'Top rules today',
  'rank.institutions': 'Institutions by warnings',
  'rank.empty': 'No data',
  'rank.times': '',
  'rank.rate': 'Rate',
  'kpi.onTime': 'Verified on time',
  'kpi.overdue': 'Overdue, open',
  'kpi.unit.overdue': '',
  'kpi.sub.onTime': '{m} of {n} concluded on time',
  'kpi.sub.overdue': 'Escalated, not yet done',
  'lag.label': 'Pipeline lag',
  'lag.none': '—',
  'ingest.down': 'Ingest stopped',
  'health.title': 'Collector health',
  'health.silent': 'Silent',
  'health.gap': 'Gaps',
  'health.tamper': 'Tamper',
  'health.today': 'today',
  'health.ok': 'All collectors healthy today',
  'rank.byWarnings': 'Warnings',
  'rank.byScore': 'Score',
  'rank.scores': 'Institutions by score',
  'rank.points': '',
  'rank.veto': 'Veto',
  'rank.month': '{month}',
  'view.overview': 'Overview',
  'view.ranking': 'Rankings',
  'view.health': 'Collectors',
  'view.next': 'next in {s} s',
  'view.keys': '←/→ to switch',
  'health.pipeline': 'Pipeline',
  'health.latest': 'Latest collector warnings',
  'health.lagHint': 'capture → stored, p95 (last 5 min)',
  'health.lagOk': 'normal',
  'health.lagWarn': 'slow',
  'health.lagBad': 'far behind',
  'health.counties': 'Business today by county',
  'lang.switch': '中',
  'loading.title': 'Receiving today’s figures…',
  'loading.connecting': 'Connecting to the hub',
  'loading.waiting': 'Connected, waiting for today’s statistics',
  'loading.retrying': 'Hub unreachable, retrying',
  'loading.auth': 'This screen is not authorised yet: log in with the wall account or have an administrator issue a kiosk token',
  'rank.scoresWorst': 'Evaluation score, lowest first',
  'rank.unranked': '{n} without business this month, not ranked',
  'rank.noBusiness': 'No business this month yet, not ranked',
  'rank.computing': 'Reading this month’s scores…',
  'rank.counties': 'Counties by warnings',
  'rank.countySub': '{n} transactions',
  'grade.A': 'A Excellent',
  'grade.B': 'B Good',
  'grade.C': 'C Warning',
  'grade.D': 'D Fail',
  'overdue.title': 'Overdue, escalated',
  'overdue.total': '{n} open',
  'overdue.empty': 'Nothing overdue',
  'overdue.for': 'late {d}',
  'duration.min': '{n} min',
  'duration.hour': '{n} h',
  'duration.day': '{n} d',
  'trend.transactions': 'Transactions by hour',
  'trend.warnings': 'Warnings by hour',
  'trend.today': 'Today',
  'trend.yesterday': 'Yesterday',
  'trend.sameTime': 'To {h}:00 — today {a}, yesterday {b}',
  'business.title': 'Business by type today',
  'business.warned': '{n} with warnings',
  'business.empty': 'No business yet today',
  'view.trend': 'Trends',
  'alert.high': 'HIGH',
  'alert.hold': 'HOLD',
  'alert.tamper': 'TAMPER',
  'alert.more': '+{n} more',
  'unit.items': '',
  'state.raised': 'Unassigned',
  'state.assigned': 'Assigned',
  'state.acknowledged': 'Acknowledged',
  'state.verifying': 'Verifying',
  'state.concluded': 'Concluded',
  'state.disposed': 'Disposed',
  'state.reviewed': 'Reviewed',
  'state.closed': 'Closed',
  'scope.county': 'Showing {name} only',
  'map.titleCounty': '{name} warning map',
};

const SEVERITY_ZH: Record<Severity, string> = { high: '高', medium: '中', low: '低' };
const SEVERITY_EN: Record<Severity, string> = { high: 'High', medium: 'Med', low: 'Low' };

const FAMILY_EN: Record<RuleFamily, string> = {
  counter: 'Counter', agent: 'Applicants & agents', vehicle: 'Vehicle registration', check: 'Vehicle checks',
  inspection: 'Inspection stations', exam: 'Driving exams', points: 'Points-for-sale', medical: 'Medical',
  online: 'Online', collector: 'Collectors',
};

class I18n {
  locale = $state<Locale>('zh');

  t(key: MessageKey, params?: Record<string, string | number>): string {
    const table = this.locale === 'en' ? en : zh;
    let s: string = table[key] ?? zh[key] ?? key;
    if (params) for (const [k, v] of Object.entries(params)) s = s.replaceAll(`{${k}}`, String(v));
    return s;
  }

  severity(s: Severity, zhLabels: Readonly<Record<Severity, string>> = SEVERITY_ZH): string {
    return this.locale === 'en' ? SEVERITY_EN[s] : zhLabels[s] ?? SEVERITY_ZH[s];
  }

  family(f: RuleFamily, zhLabels: Readonly<Record<RuleFamily, string>>): string {
    return this.locale === 'en' ? FAMILY_EN[f] ?? f : zhLabels[f] ?? f;
  }

  /** BCP 47 tag for number and date formatting. */
  get tag(): string {
    return this.locale === 'en' ? 'en-GB' : 'zh-CN';
  }

  /** Picks the locale from `?lang=` or the last choice stored on this screen. */
  init(search: string): void {
    const q = new URLSearchParams(search).get('lang');
    let stored: string | null = null;
    try {
      stored = globalThis.localStorage?.getItem('jg.lang') ?? null;
    } catch {
      stored = null;
    }
    const pick = q ?? stored;
    this.locale = pick === 'en' ? 'en' : 'zh';
    if (typeof document !== 'undefined') document.documentElement.lang = this.locale === 'en' ? 'en' : 'zh-CN';
  }

  toggle(): void {
    this.locale = this.locale === 'zh' ? 'en' : 'zh';
    try {
      globalThis.localStorage?.setItem('jg.lang', this.locale);
    } catch {
      /* storage may be disabled on kiosk browsers */
    }
    if (typeof document !== 'undefined') document.documentElement.lang = this.locale === 'en' ? 'en' : 'zh-CN';
  }
}

export const i18n = new I18n();
export const t = (key: MessageKey, params?: Record<string, string | number>): string => i18n.t(key, params);
