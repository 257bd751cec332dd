import { describe, expect, it } from 'vitest';
import { READINESS_KEYS, type ReadinessItem, type ReadinessKey, type ReadinessStatus } from '@jianguan/protocol';
import { ageText, countyName, fixLinks, itemSentence, itemTitle, moreText, READINESS_TITLES, readinessCsv, statusLabel, subjectText, subjectView, summaryText } from '$lib/app/readiness';
import { canOpen } from '$lib/app/nav';
import { inEnglish } from './locale';

const CJK = /[\u3000-\u303f\u3400-\u9fff\uff00-\uffef]/;

const item = (key: ReadinessKey, counts: Record<string, number>, status: ReadinessStatus = 'ok'): Pick<ReadinessItem, 'key' | 'status' | 'counts'> => ({ key, status, counts });
/** An item's sentence in Chinese and in English. */
const both = (i: Pick<ReadinessItem, 'key' | 'status' | 'counts'>, demo = false): [string, string] => [itemSentence(i, demo), inEnglish(() => itemSentence(i, demo))];

describe('go-live check: titles, statuses and links', () => {
  it('titles every key the hub checks, in Chinese and English', () => {
    expect(Object.keys(READINESS_TITLES)).toEqual([...READINESS_KEYS]);
    for (const key of READINESS_KEYS) {
      expect(CJK.test(itemTitle(key)), key).toBe(true);
      const en = inEnglish(() => itemTitle(key));
      expect(en, key).toMatch(/^[A-Z][A-Za-z ()]+$/);
    }
    expect(itemTitle('admins')).toBe('管理员账号');
    expect(inEnglish(() => itemTitle('transport'))).toBe('Encrypted transport (HTTPS)');
    // A key from a newer hub: a generic title, never the key itself.
    expect(itemTitle('something_new')).toBe('其他检查项');
    expect(inEnglish(() => itemTitle('something_new'))).toBe('Other check');
  });

  it('labels the four statuses', () => {
    expect((['ok', 'todo', 'warn', 'info'] as const).map((s) => statusLabel(s))).toEqual(['已完成', '待办', '请留意', '提示']);
    expect(inEnglish(() => (['ok', 'todo', 'warn', 'info'] as const).map((s) => statusLabel(s)))).toEqual(['Done', 'To do', 'Check', 'Note']);
  });

  it('links each item to the screen that fixes it, one a system administrator may open', () => {
    const hrefs = Object.fromEntries(READINESS_KEYS.map((k) => [k, fixLinks(k).map((l) => l.href)]));
    expect(hrefs).toEqual({
      admins: ['/users'],
      auditors: ['/users'],
      institutions: ['/registry', '/registry/import'],
      places: ['/registry'],
      staff: ['/registry'],
      lines: ['/registry'],
      requests: ['/registry'],
      collectors: ['/collectors'],
      collectors_silent: ['/collectors'],
      calendar: ['/calendar'],
      rules: ['/rules'],
      replay: ['/warnings', '/quality'],
      backups: ['/backups'],
      disk: [],
      transport: [],
      wall: [],
    });
    for (const k of READINESS_KEYS) for (const l of fixLinks(k)) expect(canOpen(['system_admin'], l.href), l.href).toBe(true);
    expect(fixLinks('collectors')).toEqual([{ href: '/collectors', text: '采集终端' }]);
    expect(inEnglish(() => fixLinks('institutions').map((l) => l.text))).toEqual(['Registry', 'Import filings']);
    expect(fixLinks('something_new')).toEqual([]);
  });
});

describe('go-live check: sentences', () => {
  it('words every key in both languages, with no Chinese on the English screen', () => {
    const samples: Pick<ReadinessItem, 'key' | 'status' | 'counts'>[] = [
      item('admins', { systemAdmins: 1, registryAdmins: 1 }, 'todo'),
      item('auditors', { auditors: 3, counties: 11, uncovered: 2 }, 'todo'),
      item('institutions', { institutions: 40, counties: 11, countiesWithout: 1 }, 'todo'),
      item('places', { institutions: 40, without: 3 }, 'warn'),
      item('staff', { institutions: 40, without: 2, staff: 300 }, 'todo'),
      item('lines', { without: 2 }, 'todo'),
      item('requests', { pending: 2, items: 5_002 }, 'warn'),
      item('collectors', { approved: 2, pending: 1, institutions: 40, without: 38 }, 'todo'),
      item('collectors_silent', { approved: 2, silent: 1 }, 'warn'),
      item('calendar', { missing: 1, incomplete: 1 }, 'todo'),
      item('rules', { current: 0, pending: 1 }, 'warn'),
      item('replay', { replayed: 0, transactions: 120 }, 'warn'),
      item('backups', { supported: 1, hour: 3, ageHours: 5, verified: 1 }, 'ok'),
      item('disk', { known: 1, freeMiB: 1536, totalMiB: 40960, lowMiB: 2048 }, 'warn'),
      item('transport', { tls: 0, proxy: 0 }, 'warn'),
      item('wall', { public: 1 }, 'warn'),
    ];
    expect(samples.map((s) => s.key)).toEqual([...READINESS_KEYS]);
    for (const s of samples) {
      const [zh, en] = both(s);
      expect(CJK.test(zh), s.key).toBe(true);
      expect(CJK.test(en), `${s.key}: ${en}`).toBe(false);
      expect(en, s.key).toMatch(/^[A-Z0-9]/);
    }
  });

  it('words the registry requests waiting for a second administrator', () => {
    expect(both(item('requests', { pending: 1, items: 5_000 }, 'warn'))).toEqual([
      '1 份备案申请（共 5,000 条）等待另一名备案管理员审批：审批通过前，其中的备案不生效',
      '1 registry request (5,000 items) awaits approval by another registry administrator: their filings are not in force until approved',
    ]);
    expect(both(item('requests', { pending: 0, items: 0 }))).toEqual(['没有等待审批的备案申请', 'No registry request awaits approval']);
  });

  it('words the accounts: two registry administrators for maker-checker', () => {
    expect(both(item('admins', { systemAdmins: 1, registryAdmins: 1 }, 'todo'))).toEqual([
      '系统管理员 1 名，备案管理员 1 名；备案变更须由一人提交、另一人审批，至少需要 2 名备案管理员',
      '1 system administrator, 1 registry administrator; a registry change is filed by one and approved by another, so at least 2 registry administrators are needed',
    ]);
    expect(both(item('admins', { systemAdmins: 2, registryAdmins: 2 }))).toEqual(['系统管理员 2 名，备案管理员 2 名', '2 system administrators, 2 registry administrators']);
    expect(both(item('admins', { systemAdmins: 0, registryAdmins: 3 }, 'todo'))[1]).toBe('0 system administrators, 3 registry administrators; at least 1 system administrator is needed');
  });

  it('words the auditors, institutions, places, staff and lines', () => {
    expect(both(item('auditors', { auditors: 3, counties: 11, uncovered: 2 }, 'todo'))).toEqual([
      '2 个区县没有在岗核查人员负责（共 11 个区县，核查人员 3 名）：这些区县的预警无人核查',
      '2 of 11 counties have no active auditor (3 auditors in all): nobody would check their warnings',
    ]);
    expect(both(item('auditors', { auditors: 1, counties: 11, uncovered: 0 }))).toEqual(['11 个区县都有在岗核查人员负责（核查人员共 1 名）', 'Every county (11) has an active auditor; 1 auditor in all']);
    expect(both(item('institutions', { institutions: 40, counties: 11, countiesWithout: 1 }, 'todo'))).toEqual(['已备案机构 40 家；1 个区县（共 11 个）还没有备案机构', '40 institutions filed; 1 of 11 counties has none yet']);
    expect(both(item('institutions', { institutions: 40, counties: 11, countiesWithout: 0 }))).toEqual(['已备案机构 40 家，11 个区县都有', '40 institutions filed, in every county (11)']);
    expect(both(item('institutions', { institutions: 0, counties: 11, countiesWithout: 11 }, 'todo'))[0]).toBe('还没有备案机构：请在备案管理中导入机构（上线指南第 3 步）');
    expect(both(item('places', { institutions: 40, without: 1 }, 'warn'))).toEqual(['1 家机构（共 40 家）未备案经纬度：大屏把它们画在所在县城旁', '1 of 40 institutions has no coordinates filed: the wall draws them beside their county seat']);
    expect(both(item('places', { institutions: 40, without: 0 }))).toEqual(['40 家机构的位置（经纬度）都已备案', 'Coordinates are filed for every institution (40)']);
    expect(both(item('staff', { institutions: 40, without: 2, staff: 300 }, 'todo'))).toEqual([
      '2 家在用机构（共 40 家）没有有效的人员备案：它们办理的业务都会被判为未备案人员办理',
      '2 of 40 active institutions have no staff filing in force: all their business would be flagged as done by unfiled staff',
    ]);
    expect(both(item('staff', { institutions: 40, without: 0, staff: 1234 }))).toEqual(['40 家在用机构都有有效的人员备案（在册人员共 1,234 人）', 'Every active institution (40) has staff filed in force; 1,234 staff members in all']);
    expect(both(item('lines', { without: 1 }, 'todo'))).toEqual(['1 家检测站或考试场没有备案检测线或考试路线', '1 inspection station or exam venue has no inspection line or exam route filed']);
    expect(both(item('lines', { without: 0 }))).toEqual(['检测站都有检测线，考试场都有考试路线', 'Every inspection station has an inspection line and every exam venue an exam route']);
  });

  it('words the collectors: approved, awaiting approval, silent', () => {
    expect(both(item('collectors', { approved: 2, pending: 1, institutions: 40, without: 38 }, 'todo'))).toEqual([
      '已批准的采集终端 2 台；38 家机构（共 40 家）还没有已批准的采集终端；1 台终端的申请等待批准',
      '2 approved collectors; 38 of 40 institutions have none yet; 1 enrolment awaiting approval',
    ]);
    expect(both(item('collectors', { approved: 40, pending: 0, institutions: 40, without: 0 }))).toEqual(['已批准的采集终端 40 台；40 家机构都已接入', '40 approved collectors; every institution (40) has one']);
    expect(both(item('collectors_silent', { approved: 3, silent: 1 }, 'warn'))).toEqual([
      '1 台采集终端（已批准 3 台）超过 24 小时没有上报或从未上报：请检查这些电脑和网络',
      '1 of 3 approved collectors has not reported for 24 hours, or never: check those PCs and their network',
    ]);
    expect(both(item('collectors_silent', { approved: 1, silent: 0 }))).toEqual(['已批准的 1 台采集终端 24 小时内都有上报', 'The approved collector reported within the last 24 hours']);
    expect(both(item('collectors_silent', { approved: 0, silent: 0 }, 'todo'))).toEqual(['还没有已批准的采集终端', 'No approved collector yet']);
  });

  it('words the rule definitions in force against this version\'s', () => {
    expect(both(item('rules', { current: 1, pending: 0 }))).toEqual(['生效中的规则采用本版软件内置的规则定义（参数可另行调整）', 'The rules in force use this version’s built-in definitions (parameters may be tuned)']);
    expect(both(item('rules', { current: 0, pending: 0 }, 'warn'))[0]).toContain('以内置规则包起草');
    expect(both(item('rules', { current: 0, pending: 1 }, 'warn'))[0]).toContain('已起草或待生效');
    const pending = subjectView('rules', { id: 'pack-2027.01-abcd', name: 'pack-2027.01-abcd', county: '' });
    expect(pending).toMatchObject({ href: '/rules', county: '' });
    expect(subjectText(pending)).toBe('待发布的规则集 pack-2027.01-abcd');
    expect(inEnglish(() => subjectText(subjectView('rules', { id: 'v', name: 'v', county: '' })))).toBe('Set to come: v');
  });

  it('words the calendar and the replay of past business', () => {
    expect(both(item('calendar', { missing: 1, incomplete: 2 }, 'todo'))).toEqual([
      '1 个年份的节假日安排未录入；2 个年份的节假日安排缺少节日：节假日的业务会按工作日判断',
      '1 year has no holiday arrangement entered; 2 years miss festivals: business on those holidays would be judged as on working days',
    ]);
    expect(both(item('calendar', { missing: 0, incomplete: 0 }))).toEqual(['所需年份的节假日安排都已录入', 'The holiday arrangements of the years needed are entered']);
    const [zh, en] = both(item('replay', { replayed: 0, transactions: 120 }, 'warn'));
    expect(zh).toBe('还没有回放过去的业务：上线前请用采集终端回放最近一周的业务，在预警和规则质量中查看系统会发出哪些预警（上线指南第 6 步）');
    expect(en).toContain('go-live guide, step 6');
    expect(both(item('replay', { replayed: 1, transactions: 5200 }))).toEqual([
      '已回放过去的业务（现存业务记录 5,200 笔）：请在预警和规则质量中查看它发出的预警',
      'Past business has been replayed (5,200 business records stored): review what it raised in Warnings and Rule quality',
    ]);
  });

  it('words the backups: the daily hour, the newest verified backup by age, an external server', () => {
    expect(both(item('backups', { supported: 1, hour: 3, ageHours: 5, verified: 1 }))).toEqual([
      '每天 03:00（北京时间）自动备份；最近一次校验通过的备份：5 小时前',
      'Backed up every day at 03:00 (Beijing time); the newest verified backup is 5 hours old',
    ]);
    expect(both(item('backups', { supported: 1, hour: -1, ageHours: -1, verified: 0 }, 'todo'))).toEqual([
      '未设置每日自动备份（JG_BACKUP_HOUR）；还没有校验通过的备份',
      'No daily backup is set (JG_BACKUP_HOUR); no verified backup yet',
    ]);
    expect(both(item('backups', { supported: 1, hour: 23, ageHours: 0, verified: 1 }))).toEqual([
      '每天 23:00（北京时间）自动备份；最近一次校验通过的备份：不到 1 小时前',
      'Backed up every day at 23:00 (Beijing time); the newest verified backup is less than an hour old',
    ]);
    expect(both(item('backups', { supported: 1, hour: 2, ageHours: 80, verified: 1 }, 'warn'))[1]).toBe('Backed up every day at 02:00 (Beijing time); the newest verified backup is 3 days old');
    const [zh, en] = both(item('backups', { supported: 0, hour: -1, ageHours: -1, verified: 0 }, 'info'));
    expect(zh).toContain('外部 ClickHouse');
    expect(en).toContain('external ClickHouse');
  });

  it('words the data disk: free of total in GiB, the alert line when below it, and a disk it cannot read', () => {
    expect(both(item('disk', { known: 1, freeMiB: 51_712, totalMiB: 102_400, lowMiB: 2048 }))).toEqual([
      '数据目录所在磁盘剩余 50.5 GiB（共 100.0 GiB）',
      '50.5 GiB free on the data directory’s disk (of 100.0 GiB)',
    ]);
    const [zh, en] = both(item('disk', { known: 1, freeMiB: 1536, totalMiB: 40960, lowMiB: 2048 }, 'warn'));
    expect(zh).toBe('数据目录所在磁盘仅剩 1.5 GiB（共 40.0 GiB），低于告警线 2.0 GiB（JG_DISK_LOW_BYTES）：请清理或扩容；磁盘写满后新的业务无法入库，采集终端会保留记录，待有空间后补传');
    expect(en).toContain('below the 2.0 GiB alert line');
    expect(both(item('disk', { known: 0 }, 'info'))).toEqual(['无法读取数据目录所在磁盘的空间', 'The space on the data directory’s disk cannot be read']);
  });

  it('words ages in hours, then days', () => {
    expect([0.4, 1, 1.9, 47, 48, 80, 24 * 9].map(ageText)).toEqual(['不到 1 小时', '1 小时', '1 小时', '47 小时', '2 天', '3 天', '9 天']);
    expect(inEnglish(() => [0.4, 1, 30, 48, 24 * 9].map(ageText))).toEqual(['less than an hour', '1 hour', '30 hours', '2 days', '9 days']);
    expect(ageText(-1)).toBe('—');
  });

  it('words the doors: HTTPS or a proxy, the open wall, and demo mode', () => {
    expect(both(item('transport', { tls: 1, proxy: 0 }))).toEqual(['中心服务已启用 HTTPS（JG_TLS_CERT）', 'The hub serves HTTPS (JG_TLS_CERT)']);
    expect(both(item('transport', { tls: 0, proxy: 1 }))[1]).toBe('The hub runs behind a proxy (JG_TRUST_PROXY), which provides HTTPS');
    const [zh, en] = both(item('transport', { tls: 0, proxy: 0 }, 'warn'));
    expect(zh).toBe('中心服务未启用 HTTPS，前面也没有反向代理：其他电脑上的采集终端须经 HTTPS 连接（JG_TLS_CERT 或 JG_TRUST_PROXY）');
    expect(en).toBe('The hub has neither HTTPS nor a proxy in front: collectors on other machines need HTTPS (JG_TLS_CERT or JG_TRUST_PROXY)');
    expect(both(item('transport', { tls: 0, proxy: 0 }, 'info'), true)[1]).toMatch(/; nothing to do in demo mode$/);
    expect(both(item('wall', { public: 0 }))).toEqual(['大屏须登录后才能打开', 'The wall opens only after a login']);
    expect(both(item('wall', { public: 1 }, 'warn'))).toEqual([
      '大屏无需登录即可打开（JG_WALL_PUBLIC）：能访问中心服务的人都能看到它',
      'The wall opens without a login (JG_WALL_PUBLIC): anyone who can reach the hub can see it',
    ]);
    expect(both(item('wall', { public: 1 }, 'info'), true)[0]).toMatch(/；演示模式下无需处理$/);
  });

  it('reads a count the hub did not send as 0', () => {
    expect(itemSentence(item('lines', {}))).toBe('检测站都有检测线，考试场都有考试路线');
  });
});

describe('go-live check: subjects and summary', () => {
  it('shows institutions and collectors by name with their county by name, never an adcode', () => {
    const v = subjectView('places', { id: 'JCJ-CGS', name: '河池市车辆管理所', county: '451202' });
    expect(v).toEqual({ id: 'JCJ-CGS', parts: [{ text: '河池市车辆管理所', datum: true }], county: '金城江区' });
    expect(subjectText(v)).toBe('河池市车辆管理所（金城江区）');
    expect(inEnglish(() => subjectText(v))).toBe('河池市车辆管理所 (金城江区)');
    const c = subjectView('collectors_silent', { id: 'c-jcj-01', name: '河池市车辆管理所 查验线9', county: '451203' });
    expect(subjectText(c)).toBe('河池市车辆管理所 查验线9（宜州区）');
    // An unknown county code is left out rather than shown as a code.
    expect(subjectView('staff', { id: 'X', name: '某机构', county: '999999' }).county).toBe('');
    expect(subjectView('staff', { id: 'X', name: '某机构', county: '' }).county).toBe('');
    expect(countyName('451203')).toBe('宜州区');
    expect(countyName('000000')).toBe('');
  });

  it('shows counties by name', () => {
    expect(subjectText(subjectView('auditors', { id: '451203', name: '宜州区', county: '451203' }))).toBe('宜州区');
    expect(subjectView('institutions', { id: '451202', name: '', county: '451202' }).parts).toEqual([{ text: '金城江区', datum: true }]);
    // A county the code table does not have: as the hub named it.
    expect(subjectText(subjectView('institutions', { id: '459999', name: '新设区', county: '459999' }))).toBe('新设区');
  });

  it('words the calendar years: an arrangement not entered, festivals missing', () => {
    const missing = subjectView('calendar', { id: 'missing:2027', name: '2027', county: '' });
    expect(subjectText(missing)).toBe('2027 年节假日安排未录入');
    expect(inEnglish(() => subjectText(subjectView('calendar', { id: 'missing:2027', name: '2027', county: '' })))).toBe('2027: holiday arrangement not entered');
    expect(missing.parts.every((p) => !p.datum)).toBe(true);
    const incomplete = { id: 'incomplete:2026', name: '清明节、国庆节', county: '' };
    expect(subjectText(subjectView('calendar', incomplete))).toBe('2026 年缺：清明节、国庆节');
    expect(inEnglish(() => subjectText(subjectView('calendar', incomplete)))).toBe('2026: missing Qingming Festival, National Day');
    expect(inEnglish(() => subjectView('calendar', incomplete).parts.some((p) => p.datum))).toBe(false);
    // A festival name the screen does not know stays as recorded, marked as data.
    const odd = inEnglish(() => subjectView('calendar', { id: 'incomplete:2028', name: '某节', county: '' }));
    expect(odd.parts).toEqual([{ text: '2028: missing ', datum: false }, { text: '某节', datum: true }]);
  });

  it('says how many there are when the hub sent only the first 100', () => {
    const subjects = Array.from({ length: 100 }, (_, i) => ({ id: `I-${i}`, name: `机构${i}`, county: '451202' }));
    expect(moreText({ subjects, total: 250 })).toBe('… 共 250 个');
    expect(inEnglish(() => moreText({ subjects, total: 1250 }))).toBe('… 1,250 in all');
    expect(moreText({ subjects, total: 100 })).toBe('');
    expect(moreText({ subjects: [], total: 0 })).toBe('');
  });

  it('sums up what is to do and to check', () => {
    const st = (...s: ReadinessStatus[]) => s.map((status) => ({ status }));
    expect(summaryText(st('todo', 'ok', 'todo', 'warn', 'warn', 'warn', 'info'))).toBe('待办 2 项，请留意 3 项');
    expect(inEnglish(() => summaryText(st('todo', 'ok', 'todo', 'warn', 'warn', 'warn', 'info')))).toBe('2 to do, 3 to check');
    expect(summaryText(st('todo', 'ok'))).toBe('待办 1 项');
    expect(inEnglish(() => summaryText(st('warn', 'info')))).toBe('1 to check');
    expect(summaryText(st('ok', 'info'))).toBe('没有待办事项，可以上线');
    expect(inEnglish(() => summaryText(st('ok')))).toBe('Nothing left to do: ready to go live');
  });
});

describe('go-live check: subjects that open', () => {
  it('links a registry request waiting for approval to the registry screen, and nothing else', () => {
    expect(subjectView('requests', { id: 'rr-1 a', name: '导入 人员.xlsx', county: '' }).href).toBe('/registry?request=rr-1%20a');
    expect(subjectView('places', { id: 'JCJ-JYZ', name: '金城江区机动车检测站', county: '451202' }).href).toBeUndefined();
  });
});

describe('go-live check: the whole check as a sheet', () => {
  const check = {
    checkedAt: Date.UTC(2026, 11, 7, 2, 0, 0),
    demo: false,
    items: [
      { key: 'admins', status: 'ok', counts: { systemAdmins: 1, registryAdmins: 2 }, subjects: [], total: 0 },
      {
        key: 'collectors',
        status: 'warn',
        counts: { approved: 1, pending: 0, institutions: 3, without: 2 },
        subjects: [
          { id: 'JCJ-CGS', name: '河池市车辆管理所', county: '451202' },
          { id: 'YZ-JYZ', name: '宜州区机动车检测站, 二号', county: '451203' },
        ],
        total: 3,
      },
      { key: 'calendar', status: 'todo', counts: { missing: 1, incomplete: 0 }, subjects: [{ id: 'missing:2027', name: '2027', county: '' }], total: 1 },
    ] as ReadinessItem[],
  };

  it('writes one row per item and one per subject under it, in a file Excel opens, in the screen language', () => {
    const csv = readinessCsv(check, '2026-12-07 10:00:00');
    expect(csv.startsWith('\uFEFF')).toBe(true);
    const lines = csv.slice(1).trimEnd().split('\r\n');
    expect(lines[0]).toBe('上线检查,检查时间：2026-12-07 10:00:00,待办 1 项，请留意 1 项');
    expect(lines[1]).toBe('检查项,状态,说明,涉及,所属区县');
    expect(lines[2]).toBe('管理员账号,已完成,系统管理员 1 名，备案管理员 2 名,,');
    expect(lines[3]).toMatch(/^采集终端接入,请留意,已批准的采集终端 1 台；2 家机构（共 3 家）还没有已批准的采集终端,3 个,$/);
    expect(lines[4]).toBe(',,,河池市车辆管理所,金城江区');
    // A name with a comma is quoted.
    expect(lines[5]).toBe(',,,"宜州区机动车检测站, 二号",宜州区');
    expect(lines[6]).toBe(',,,… 共 3 个,');
    expect(lines[7]).toMatch(/^节假日安排,待办,/);
    expect(lines[8]).toBe(',,,2027 年节假日安排未录入,');
    const en = inEnglish(() => readinessCsv(check, '2026-12-07 10:00:00')).slice(1).split('\r\n');
    expect(en[0]).toBe('Go-live check,Checked at 2026-12-07 10:00:00,"1 to do, 1 to check"');
    expect(en[1]).toBe('Item,Status,Detail,About,County');
    expect(en[8]).toBe(',,,2027: holiday arrangement not entered,');
  });
});
