/**
 * Words for the go-live check (上线检查): each item the hub checks before the counters are
 * switched on, titled and worded from its counts in Chinese and English, the screen that fixes
 * it, its status, what it is about (institutions and counties by name, never by adcode) and a
 * summary line. The hub decides every status; nothing here judges. Pure, unit-tested.
 */
import type { Readiness, ReadinessItem, ReadinessKey, ReadinessStatus, ReadinessSubject } from '@jianguan/protocol';
import { csvDocument } from './csv';
import { COUNTIES } from '$lib/domain';
import { formatCount } from '$lib/format';
import { english } from './en';
import { L } from './lang';

/** Each item's title, Chinese and English, in the hub's order (docs/go-live.md). */
export const READINESS_TITLES: Readonly<Record<ReadinessKey, readonly [zh: string, en: string]>> = {
  admins: ['管理员账号', 'Administrator accounts'],
  auditors: ['核查人员覆盖各区县', 'Auditors for every county'],
  institutions: ['机构备案', 'Institutions filed'],
  places: ['机构位置', 'Institution locations'],
  staff: ['人员备案', 'Staff filings'],
  lines: ['检测线与考试路线', 'Inspection lines and exam routes'],
  requests: ['待审批的备案申请', 'Registry requests awaiting approval'],
  collectors: ['采集终端接入', 'Collectors enrolled'],
  collectors_silent: ['采集终端上报', 'Collectors reporting'],
  calendar: ['节假日安排', 'Holiday arrangements'],
  rules: ['规则定义', 'Rule definitions'],
  replay: ['历史业务回放', 'Replay of past business'],
  backups: ['数据备份', 'Backups'],
  disk: ['数据盘空间', 'Data disk space'],
  transport: ['加密传输（HTTPS）', 'Encrypted transport (HTTPS)'],
  wall: ['大屏访问', 'Wall access'],
};

/** An item's title in the current language; a key this screen does not know yet gets a generic one. */
export function itemTitle(key: string): string {
  const t = READINESS_TITLES[key as ReadinessKey];
  return t ? L(t[0], t[1]) : L('其他检查项', 'Other check');
}

const STATUS_LABELS: Readonly<Record<ReadinessStatus, readonly [zh: string, en: string]>> = {
  ok: ['已完成', 'Done'],
  todo: ['待办', 'To do'],
  warn: ['请留意', 'Check'],
  info: ['提示', 'Note'],
};

export function statusLabel(status: ReadinessStatus): string {
  const s = STATUS_LABELS[status] ?? STATUS_LABELS.info;
  return L(s[0], s[1]);
}

export interface ReadinessLink {
  href: string;
  text: string;
}

/** The screens items are fixed on, named as the nav names them. */
const SCREENS = {
  users: { href: '/users', zh: '用户与角色', en: 'Users' },
  registry: { href: '/registry', zh: '备案管理', en: 'Registry' },
  import: { href: '/registry/import', zh: '导入备案', en: 'Import filings' },
  collectors: { href: '/collectors', zh: '采集终端', en: 'Collectors' },
  calendar: { href: '/calendar', zh: '工作日历', en: 'Calendar' },
  rules: { href: '/rules', zh: '规则发布', en: 'Rule releases' },
  warnings: { href: '/warnings', zh: '预警', en: 'Warnings' },
  quality: { href: '/quality', zh: '规则质量', en: 'Rule quality' },
  backups: { href: '/backups', zh: '数据备份', en: 'Backups' },
} as const;

type Screen = keyof typeof SCREENS;

/**
 * Where each item is fixed. The doors (HTTPS, the open wall) are settings of the hub's machine
 * (JG_TLS_CERT, JG_TRUST_PROXY, JG_WALL_PUBLIC), which no screen changes.
 */
const FIXED_AT: Readonly<Record<ReadinessKey, readonly Screen[]>> = {
  admins: ['users'],
  auditors: ['users'],
  institutions: ['registry', 'import'],
  places: ['registry'],
  staff: ['registry'],
  lines: ['registry'],
  requests: ['registry'],
  collectors: ['collectors'],
  collectors_silent: ['collectors'],
  calendar: ['calendar'],
  rules: ['rules'],
  // A replay runs on a collector (step 6); what it raised is reviewed on these two screens.
  replay: ['warnings', 'quality'],
  backups: ['backups'],
  // Room is made on the hub's machine (JG_DATA_DIR's disk), not on a screen.
  disk: [],
  transport: [],
  wall: [],
};

/** The screens that fix an item, first the main one (link text in the current language). */
export function fixLinks(key: string): ReadinessLink[] {
  return (FIXED_AT[key as ReadinessKey] ?? []).map((s) => ({ href: SCREENS[s].href, text: L(SCREENS[s].zh, SCREENS[s].en) }));
}

/** A count by name; a count the hub did not send reads as 0. */
function count(item: Pick<ReadinessItem, 'counts'>, name: string): number {
  const v = item.counts[name];
  return typeof v === 'number' && Number.isFinite(v) ? v : 0;
}

const num = (n: number) => formatCount(n);
/** '1 institution' / '3 institutions'. */
const en = (n: number, one: string, many: string) => `${num(n)} ${n === 1 ? one : many}`;
const has = (n: number) => (n === 1 ? 'has' : 'have');

/**
 * An age in hours in words: 不到 1 小时 / less than an hour, 5 小时 / 5 hours, 3 天 / 3 days
 * (days from two days on, where hours stop being read at a glance).
 */
export function ageText(hours: number): string {
  if (!Number.isFinite(hours) || hours < 0) return '—';
  if (hours < 1) return L('不到 1 小时', 'less than an hour');
  const h = Math.floor(hours);
  if (h < 48) return L(`${h} 小时`, en(h, 'hour', 'hours'));
  const d = Math.floor(h / 24);
  return L(`${d} 天`, en(d, 'day', 'days'));
}

/** The daily backup hour as a clock time, 03:00. */
const clock = (h: number) => `${String(h).padStart(2, '0')}:00`;

/**
 * The sentence wording an item's counts, in the current language. `demo`: the hub runs in demo
 * mode, where the doors' items are only notes.
 */
export function itemSentence(item: Pick<ReadinessItem, 'key' | 'status' | 'counts'>, demo = false): string {
  const c = (name: string) => count(item, name);
  switch (item.key) {
    case 'admins': {
      const sys = c('systemAdmins');
      const reg = c('registryAdmins');
      const zh = [`系统管理员 ${num(sys)} 名，备案管理员 ${num(reg)} 名`];
      const enParts = [`${en(sys, 'system administrator', 'system administrators')}, ${en(reg, 'registry administrator', 'registry administrators')}`];
      if (sys < 1) {
        zh.push('至少需要 1 名系统管理员');
        enParts.push('at least 1 system administrator is needed');
      }
      if (reg < 2) {
        zh.push('备案变更须由一人提交、另一人审批，至少需要 2 名备案管理员');
        enParts.push('a registry change is filed by one and approved by another, so at least 2 registry administrators are needed');
      }
      return L(zh.join('；'), enParts.join('; '));
    }
    case 'auditors': {
      const auditors = c('auditors');
      const counties = c('counties');
      const uncovered = c('uncovered');
      if (uncovered === 0) return L(`${num(counties)} 个区县都有在岗核查人员负责（核查人员共 ${num(auditors)} 名）`, `Every county (${num(counties)}) has an active auditor; ${en(auditors, 'auditor', 'auditors')} in all`);
      return L(
        `${num(uncovered)} 个区县没有在岗核查人员负责（共 ${num(counties)} 个区县，核查人员 ${num(auditors)} 名）：这些区县的预警无人核查`,
        `${num(uncovered)} of ${num(counties)} counties ${has(uncovered)} no active auditor (${en(auditors, 'auditor', 'auditors')} in all): nobody would check their warnings`,
      );
    }
    case 'institutions': {
      const n = c('institutions');
      const counties = c('counties');
      const without = c('countiesWithout');
      if (n === 0) return L('还没有备案机构：请在备案管理中导入机构（上线指南第 3 步）', 'No institution is filed yet: import them on the Registry screen (go-live guide, step 3)');
      if (without === 0) return L(`已备案机构 ${num(n)} 家，${num(counties)} 个区县都有`, `${en(n, 'institution', 'institutions')} filed, in every county (${num(counties)})`);
      return L(`已备案机构 ${num(n)} 家；${num(without)} 个区县（共 ${num(counties)} 个）还没有备案机构`, `${en(n, 'institution', 'institutions')} filed; ${num(without)} of ${num(counties)} counties ${has(without)} none yet`);
    }
    case 'places': {
      const n = c('institutions');
      const without = c('without');
      if (without === 0) return L(`${num(n)} 家机构的位置（经纬度）都已备案`, `Coordinates are filed for every institution (${num(n)})`);
      return L(
        `${num(without)} 家机构（共 ${num(n)} 家）未备案经纬度：大屏把它们画在所在县城旁`,
        `${num(without)} of ${num(n)} institutions ${has(without)} no coordinates filed: the wall draws them beside their county seat`,
      );
    }
    case 'staff': {
      const n = c('institutions');
      const without = c('without');
      const staff = c('staff');
      if (without === 0) return L(`${num(n)} 家在用机构都有有效的人员备案（在册人员共 ${num(staff)} 人）`, `Every active institution (${num(n)}) has staff filed in force; ${en(staff, 'staff member', 'staff members')} in all`);
      return L(
        `${num(without)} 家在用机构（共 ${num(n)} 家）没有有效的人员备案：它们办理的业务都会被判为未备案人员办理`,
        `${num(without)} of ${num(n)} active institutions ${has(without)} no staff filing in force: all their business would be flagged as done by unfiled staff`,
      );
    }
    case 'lines': {
      const without = c('without');
      if (without === 0) return L('检测站都有检测线，考试场都有考试路线', 'Every inspection station has an inspection line and every exam venue an exam route');
      return L(
        `${num(without)} 家检测站或考试场没有备案检测线或考试路线`,
        `${en(without, 'inspection station or exam venue has', 'inspection stations or exam venues have')} no inspection line or exam route filed`,
      );
    }
    case 'requests': {
      const pending = c('pending');
      const items = c('items');
      if (pending === 0) return L('没有等待审批的备案申请', 'No registry request awaits approval');
      return L(
        `${num(pending)} 份备案申请（共 ${num(items)} 条）等待另一名备案管理员审批：审批通过前，其中的备案不生效`,
        `${en(pending, 'registry request', 'registry requests')} (${en(items, 'item', 'items')}) ${pending === 1 ? 'awaits' : 'await'} approval by another registry administrator: their filings are not in force until approved`,
      );
    }
    case 'collectors': {
      const approved = c('approved');
      const pending = c('pending');
      const n = c('institutions');
      const without = c('without');
      const zh = [`已批准的采集终端 ${num(approved)} 台`];
      const enParts = [en(approved, 'approved collector', 'approved collectors')];
      if (without === 0) {
        zh.push(`${num(n)} 家机构都已接入`);
        enParts.push(`every institution (${num(n)}) has one`);
      } else {
        zh.push(`${num(without)} 家机构（共 ${num(n)} 家）还没有已批准的采集终端`);
        enParts.push(`${num(without)} of ${num(n)} institutions ${has(without)} none yet`);
      }
      if (pending > 0) {
        zh.push(`${num(pending)} 台终端的申请等待批准`);
        enParts.push(`${en(pending, 'enrolment', 'enrolments')} awaiting approval`);
      }
      return L(zh.join('；'), enParts.join('; '));
    }
    case 'collectors_silent': {
      const approved = c('approved');
      const silent = c('silent');
      if (approved === 0) return L('还没有已批准的采集终端', 'No approved collector yet');
      if (silent === 0) return L(`已批准的 ${num(approved)} 台采集终端 24 小时内都有上报`, approved === 1 ? 'The approved collector reported within the last 24 hours' : `All ${num(approved)} approved collectors reported within the last 24 hours`);
      return L(
        `${num(silent)} 台采集终端（已批准 ${num(approved)} 台）超过 24 小时没有上报或从未上报：请检查这些电脑和网络`,
        `${num(silent)} of ${num(approved)} approved collectors ${has(silent)} not reported for 24 hours, or never: check those PCs and their network`,
      );
    }
    case 'calendar': {
      const missing = c('missing');
      const incomplete = c('incomplete');
      if (missing === 0 && incomplete === 0) return L('所需年份的节假日安排都已录入', 'The holiday arrangements of the years needed are entered');
      const zh: string[] = [];
      const enParts: string[] = [];
      if (missing > 0) {
        zh.push(`${num(missing)} 个年份的节假日安排未录入`);
        enParts.push(`${en(missing, 'year has', 'years have')} no holiday arrangement entered`);
      }
      if (incomplete > 0) {
        zh.push(`${num(incomplete)} 个年份的节假日安排缺少节日`);
        enParts.push(`${en(incomplete, 'year misses', 'years miss')} festivals`);
      }
      return L(`${zh.join('；')}：节假日的业务会按工作日判断`, `${enParts.join('; ')}: business on those holidays would be judged as on working days`);
    }
    case 'rules': {
      if (c('current') > 0) return L('生效中的规则采用本版软件内置的规则定义（参数可另行调整）', 'The rules in force use this version’s built-in definitions (parameters may be tuned)');
      if (c('pending') > 0)
        return L(
          '生效中的规则仍是旧版本的规则定义；采用本版定义的规则集已起草或待生效：请在规则发布中完成回测与审批，再回放过去的业务',
          'The rules in force are an earlier version’s definitions; a set with this version’s is drafted or waiting to take effect: finish its backtest and approval on Rule releases, then replay past business',
        );
      return L(
        '生效中的规则仍是旧版本的规则定义，本版软件带来的规则定义尚未发布：请在规则发布中以内置规则包起草（保留已调整的参数），回测并由另一人审批',
        'The rules in force are an earlier version’s definitions; this version’s have not been released: draft them from the built-in pack on Rule releases (the tuned parameters are kept), backtest, and have another person approve',
      );
    }
    case 'replay': {
      // Business captured days after it happened is business replayed from the past (step 6).
      const stored = c('transactions');
      if (c('replayed') === 0)
        return L(
          '还没有回放过去的业务：上线前请用采集终端回放最近一周的业务，在预警和规则质量中查看系统会发出哪些预警（上线指南第 6 步）',
          'No past business has been replayed: before going live, replay a past week through a collector and review what it raised in Warnings and Rule quality (go-live guide, step 6)',
        );
      return L(
        `已回放过去的业务（现存业务记录 ${num(stored)} 笔）：请在预警和规则质量中查看它发出的预警`,
        `Past business has been replayed (${en(stored, 'business record', 'business records')} stored): review what it raised in Warnings and Rule quality`,
      );
    }
    case 'backups': {
      if (c('supported') === 0)
        return L('数据存放在外部 ClickHouse 服务器上，中心服务不能备份它：请用该服务器自带的 BACKUP 功能备份', 'The data is in an external ClickHouse server, which the hub cannot back up: use the server’s own BACKUP');
      const hour = c('hour');
      // -1: no verified backup yet (0 would read as one made this hour).
      const age = item.counts.ageHours ?? -1;
      const zh = [hour < 0 ? '未设置每日自动备份（JG_BACKUP_HOUR）' : `每天 ${clock(hour)}（北京时间）自动备份`];
      const enParts = [hour < 0 ? 'No daily backup is set (JG_BACKUP_HOUR)' : `Backed up every day at ${clock(hour)} (Beijing time)`];
      if (age < 0) {
        zh.push('还没有校验通过的备份');
        enParts.push('no verified backup yet');
      } else {
        zh.push(`最近一次校验通过的备份：${ageText(age)}前`);
        enParts.push(`the newest verified backup is ${ageText(age)} old`);
      }
      return L(zh.join('；'), enParts.join('; '));
    }
    case 'disk': {
      if (c('known') === 0) return L('无法读取数据目录所在磁盘的空间', 'The space on the data directory’s disk cannot be read');
      const gib = (mib: number) => (mib / 1024).toFixed(1);
      const free = c('freeMiB');
      const total = c('totalMiB');
      const low = c('lowMiB');
      if (item.status !== 'warn') return L(`数据目录所在磁盘剩余 ${gib(free)} GiB（共 ${gib(total)} GiB）`, `${gib(free)} GiB free on the data directory’s disk (of ${gib(total)} GiB)`);
      return L(
        `数据目录所在磁盘仅剩 ${gib(free)} GiB（共 ${gib(total)} GiB），低于告警线 ${gib(low)} GiB（JG_DISK_LOW_BYTES）：请清理或扩容；磁盘写满后新的业务无法入库，采集终端会保留记录，待有空间后补传`,
        `Only ${gib(free)} GiB free on the data directory’s disk (of ${gib(total)} GiB), below the ${gib(low)} GiB alert line (JG_DISK_LOW_BYTES): make room or add space; on a full disk new business cannot be stored, and the collectors keep their records until there is room`,
      );
    }
    case 'transport': {
      const demoNote = item.status === 'info' && demo;
      if (c('tls') > 0) return L('中心服务已启用 HTTPS（JG_TLS_CERT）', 'The hub serves HTTPS (JG_TLS_CERT)');
      if (c('proxy') > 0) return L('中心服务在反向代理之后（JG_TRUST_PROXY），由代理提供 HTTPS', 'The hub runs behind a proxy (JG_TRUST_PROXY), which provides HTTPS');
      return L(
        `中心服务未启用 HTTPS，前面也没有反向代理：其他电脑上的采集终端须经 HTTPS 连接（JG_TLS_CERT 或 JG_TRUST_PROXY）${demoNote ? '；演示模式下无需处理' : ''}`,
        `The hub has neither HTTPS nor a proxy in front: collectors on other machines need HTTPS (JG_TLS_CERT or JG_TRUST_PROXY)${demoNote ? '; nothing to do in demo mode' : ''}`,
      );
    }
    case 'wall': {
      if (c('public') === 0) return L('大屏须登录后才能打开', 'The wall opens only after a login');
      const demoNote = item.status === 'info' && demo;
      return L(
        `大屏无需登录即可打开（JG_WALL_PUBLIC）：能访问中心服务的人都能看到它${demoNote ? '；演示模式下无需处理' : ''}`,
        `The wall opens without a login (JG_WALL_PUBLIC): anyone who can reach the hub can see it${demoNote ? '; nothing to do in demo mode' : ''}`,
      );
    }
    default:
      return '';
  }
}

/** A piece of a subject's text: screen words, or recorded data (shown as recorded, marked). */
export interface Segment {
  text: string;
  datum: boolean;
}

/** A subject as the screen shows it: its words, and its county by name ('' when none or unknown). */
export interface SubjectView {
  id: string;
  parts: Segment[];
  county: string;
  /** Where the subject itself opens, when a screen can open it by address (a registry request). */
  href?: string;
}

/** A county's name from its adcode; '' for an unknown one, so no code is ever shown. */
export function countyName(adcode: string): string {
  return COUNTIES.find((c) => c.adcode === adcode)?.name ?? '';
}

/** Festival names joined by 、 in the hub's Chinese, in English when every one is known. */
function festivalsPart(names: string): Segment {
  const parts = names.split('、').filter(Boolean);
  const known = parts.length > 0 && parts.every((p) => english(p) !== p);
  if (known) return { text: L(parts.join('、'), parts.map(english).join(', ')), datum: false };
  return { text: names, datum: true };
}

/**
 * How a subject reads: an institution or a collector by its name with its county's name; a
 * county by its name; a calendar year as the sentence of what it lacks.
 */
export function subjectView(key: string, s: ReadinessSubject): SubjectView {
  if (key === 'calendar') {
    const [kind, year = ''] = s.id.split(':');
    if (kind === 'missing') return { id: s.id, parts: [{ text: L(`${year} 年节假日安排未录入`, `${year}: holiday arrangement not entered`), datum: false }], county: '' };
    if (kind === 'incomplete') return { id: s.id, parts: [{ text: L(`${year} 年缺：`, `${year}: missing `), datum: false }, festivalsPart(s.name)], county: '' };
    return { id: s.id, parts: [{ text: s.name, datum: true }], county: '' };
  }
  if (key === 'rules') {
    // The rule set still to come, opened on the rule releases screen.
    return { id: s.id, parts: [{ text: L('待发布的规则集 ', 'Set to come: '), datum: false }, { text: s.name, datum: true }], county: '', href: '/rules' };
  }
  if (key === 'auditors' || key === 'institutions') {
    // The subject is a county: its name from the code table, or as the hub named it.
    return { id: s.id, parts: [{ text: countyName(s.county || s.id) || s.name, datum: true }], county: '' };
  }
  const view: SubjectView = { id: s.id, parts: [{ text: s.name, datum: true }], county: s.county ? countyName(s.county) : '' };
  // A registry request waiting for its second administrator opens on the registry screen.
  if (key === 'requests') view.href = `/registry?request=${encodeURIComponent(s.id)}`;
  return view;
}

/** A subject in one line of text: 金城江区机动车检测站（金城江区）. */
export function subjectText(v: SubjectView): string {
  const text = v.parts.map((p) => p.text).join('');
  return v.county ? L(`${text}（${v.county}）`, `${text} (${v.county})`) : text;
}

/** The subjects not shown (the hub sends at most 100): '… 共 250 个' / '… 250 in all'; '' when all are shown. */
export function moreText(item: Pick<ReadinessItem, 'subjects' | 'total'>): string {
  return item.total > item.subjects.length ? L(`… 共 ${num(item.total)} 个`, `… ${num(item.total)} in all`) : '';
}

/** The summary line: 待办 2 项，请留意 3 项 / 2 to do, 3 to check. */
export function summaryText(items: readonly Pick<ReadinessItem, 'status'>[]): string {
  const todo = items.filter((i) => i.status === 'todo').length;
  const warn = items.filter((i) => i.status === 'warn').length;
  if (todo === 0 && warn === 0) return L('没有待办事项，可以上线', 'Nothing left to do: ready to go live');
  const zh: string[] = [];
  const enParts: string[] = [];
  if (todo > 0) {
    zh.push(`待办 ${todo} 项`);
    enParts.push(`${todo} to do`);
  }
  if (warn > 0) {
    zh.push(`请留意 ${warn} 项`);
    enParts.push(`${warn} to check`);
  }
  return L(zh.join('，'), enParts.join(', '));
}

/**
 * The whole check as a sheet (CSV that Excel opens), for the detachment's go-live meeting: one
 * row per item (title, status, sentence, how many it is about), then a row per subject under it
 * (name, county). In the screen's language; `checkedAt` heads it.
 */
export function readinessCsv(r: Pick<Readiness, 'checkedAt' | 'demo' | 'items'>, checkedAtText: string): string {
  const rows: string[][] = [
    [L('上线检查', 'Go-live check'), `${L('检查时间：', 'Checked at ')}${checkedAtText}`, summaryText(r.items)],
    [L('检查项', 'Item'), L('状态', 'Status'), L('说明', 'Detail'), L('涉及', 'About'), L('所属区县', 'County')],
  ];
  for (const item of r.items) {
    rows.push([itemTitle(item.key), statusLabel(item.status), itemSentence(item, r.demo), item.total ? L(`${num(item.total)} 个`, `${num(item.total)}`) : '', '']);
    for (const s of item.subjects) {
      const v = subjectView(item.key, s);
      rows.push(['', '', '', v.parts.map((p) => p.text).join(''), v.county]);
    }
    const more = moreText(item);
    if (more) rows.push(['', '', '', more, '']);
  }
  return csvDocument(rows);
}

