import { describe, expect, it } from 'vitest';
import { BusinessHoursSchema, InstitutionSchema, formatBusinessHours, hoursGroups, parseBusinessHours, type BusinessHours } from '../src/index.js';

const read = (text: string): BusinessHours => {
  const r = parseBusinessHours(text);
  if ('error' in r) throw new Error(`not read: ${text} → ${r.error}`);
  return r.hours;
};
const refused = (text: string): string => {
  const r = parseBusinessHours(text);
  if (!('error' in r)) throw new Error(`read: ${text} → ${JSON.stringify(r.hours)}`);
  return r.error;
};
const p = (start: string, end: string) => ({ start, end });

describe('business hours as words', () => {
  it('reads hours as people write them in a register', () => {
    expect(read('周一至周六 8:30-12:00，14:00-17:30')).toEqual({ workingDays: [1, 2, 3, 4, 5, 6], periods: [p('08:30', '12:00'), p('14:00', '17:30')], observesHolidays: true });
    expect(read('营业时间：每天 08:00～17:00，节假日照常营业')).toEqual({ workingDays: [1, 2, 3, 4, 5, 6, 7], periods: [p('08:00', '17:00')], observesHolidays: false });
    expect(read('全年无休 8:00-18:00')).toEqual({ workingDays: [1, 2, 3, 4, 5, 6, 7], periods: [p('08:00', '18:00')], observesHolidays: false });
    // Full-width digits and colon, 至 between times, 点半 and an afternoon marker.
    expect(read('星期一到星期五 上午８点半至１２点，下午2：00—5：30；法定节假日休息')).toEqual({ workingDays: [1, 2, 3, 4, 5], periods: [p('08:30', '12:00'), p('14:00', '17:30')], observesHolidays: true });
    // A list of weekdays with the 周 written once, and 工作日 / 周末.
    expect(read('周一、三、五 9:00-16:00').workingDays).toEqual([1, 3, 5]);
    expect(read('营业时间：周一、三、五８：００至12点').workingDays).toEqual([1, 3, 5]);
    expect(read('工作日及周末 9:00-16:00').workingDays).toEqual([1, 2, 3, 4, 5, 6, 7]);
    // Periods before the days, and days with the same periods written twice.
    expect(read('8:00-17:00 周一至周五').workingDays).toEqual([1, 2, 3, 4, 5]);
    expect(read('周一至周五 8:00-17:00；周六 8:00-17:00').workingDays).toEqual([1, 2, 3, 4, 5, 6]);
    expect(read('周二至周日 9:00-24:00').periods).toEqual([p('09:00', '24:00')]);
  });

  it('writes hours back as words that read back the same', () => {
    const cases: BusinessHours[] = [
      { workingDays: [1, 2, 3, 4, 5, 6], periods: [p('08:30', '12:00'), p('14:00', '17:30')], observesHolidays: true },
      { workingDays: [1, 2, 3, 4, 5, 6, 7], periods: [p('08:00', '17:00')], observesHolidays: false },
      { workingDays: [1, 3, 5, 6, 7], periods: [p('09:00', '12:00')], observesHolidays: true },
      { workingDays: [2, 3], periods: [p('00:00', '24:00')], observesHolidays: false },
    ];
    expect(formatBusinessHours(cases[0]!)).toBe('周一至周六 08:30–12:00、14:00–17:30；法定节假日休息');
    expect(formatBusinessHours(cases[1]!)).toBe('每天 08:00–17:00；法定节假日照常营业');
    expect(formatBusinessHours(cases[2]!)).toBe('周一、周三、周五至周日 09:00–12:00；法定节假日休息');
    for (const h of cases) expect(read(formatBusinessHours(h))).toEqual(h);
  });

  it('reads days with periods of their own: Saturday mornings, a late day, a weekend', () => {
    const saturdayMornings = read('周一至周五 8:00-12:00，14:30-17:30；周六 8:00-12:00；法定节假日休息');
    expect(saturdayMornings).toEqual({ workingDays: [1, 2, 3, 4, 5, 6], periods: [p('08:00', '12:00'), p('14:30', '17:30')], observesHolidays: true, byWeekday: [{ days: [6], periods: [p('08:00', '12:00')] }] });
    // The periods of the most days are the usual ones, wherever they are written.
    expect(read('周六、周日 9:00-12:00，周一至周五 8:00-17:00，节假日照常营业')).toEqual({
      workingDays: [1, 2, 3, 4, 5, 6, 7],
      periods: [p('08:00', '17:00')],
      observesHolidays: false,
      byWeekday: [{ days: [6, 7], periods: [p('09:00', '12:00')] }],
    });
    // Groups with the same periods are one; two days of their own each keep theirs.
    expect(read('周一至周三 8:00-17:00，周四 8:00-20:00，周五 8:00-17:00，周六 上午9点到12点')).toEqual({
      workingDays: [1, 2, 3, 4, 5, 6],
      periods: [p('08:00', '17:00')],
      observesHolidays: true,
      byWeekday: [{ days: [4], periods: [p('08:00', '20:00')] }, { days: [6], periods: [p('09:00', '12:00')] }],
    });
    // An afternoon marker ends with its clause: 周六's 8:00 is the morning.
    expect(read('周一至周五 上午8:00-12:00 下午2:00-5:30，周六 8:00-12:00').byWeekday).toEqual([{ days: [6], periods: [p('08:00', '12:00')] }]);
    // A tie: the days earliest in the week are the usual ones.
    expect(read('周四至周六 9:00-12:00，周一至周三 8:00-17:00')).toMatchObject({ periods: [p('08:00', '17:00')], byWeekday: [{ days: [4, 5, 6] }] });
    // Written back in words (the usual days first) that read back the same.
    expect(formatBusinessHours(saturdayMornings)).toBe('周一至周五 08:00–12:00、14:30–17:30；周六 08:00–12:00；法定节假日休息');
    for (const text of ['周六、周日 9:00-12:00，周一至周五 8:00-17:00', '周一至周三 8:00-17:00，周四 8:00-20:00，周五 8:00-17:00，周六 9:00-12:00', '周四至周六 9:00-12:00，周一至周三 8:00-17:00']) {
      const h = read(text);
      expect(read(formatBusinessHours(h))).toEqual(h);
    }
    expect(hoursGroups(saturdayMornings).map((g) => g.days)).toEqual([[1, 2, 3, 4, 5], [6]]);
  });

  it('files days with periods of their own only for working days, each once, with usual days left', () => {
    const hours = { workingDays: [1, 2, 3, 4, 5, 6], periods: [p('08:00', '17:00')], observesHolidays: true };
    const sat = { days: [6], periods: [p('08:00', '12:00')] };
    expect(BusinessHoursSchema.safeParse({ ...hours, byWeekday: [sat] }).success).toBe(true);
    const issue = (h: unknown) => {
      const r = BusinessHoursSchema.safeParse(h);
      return r.success ? '' : r.error.issues.map((i) => i.message).join(' ');
    };
    expect(issue({ ...hours, byWeekday: [{ days: [7], periods: sat.periods }] })).toContain('周日不是营业日');
    expect(issue({ ...hours, byWeekday: [sat, sat] })).toContain('周六的营业时段写了两次');
    expect(issue({ ...hours, workingDays: [6], byWeekday: [sat] })).toContain('通常的营业时段无日可用');
    expect(issue({ ...hours, byWeekday: [{ days: [6], periods: [p('08:00', '12:00'), p('11:00', '13:00')] }] })).toContain('重叠');
    expect(issue({ ...hours, byWeekday: [] })).not.toBe('');
  });

  it('refuses what it cannot read, saying what, rather than guessing', () => {
    // Days without periods of their own: the hub does not give them someone else's.
    expect(refused('周一至周五 8:00-17:00，周六')).toContain('未写明周六的营业时段');
    expect(refused('周一至周五 8:30-5:30')).toContain('结束时间应晚于开始时间');
    expect(refused('周一至周五 25:00-26:00')).toContain('时间不存在');
    expect(refused('周五至周一 8:00-17:00')).toContain('起止顺序颠倒');
    expect(refused('8:00-17:00')).toContain('未写明营业日');
    expect(refused('周一至周五')).toContain('未写明营业时段');
    expect(refused('周一至周五 8:00-12:00、11:00-17:00')).toContain('重叠');
    expect(refused('周一至周五、周五 8:00-17:00')).toContain('营业日有重复');
    expect(refused('周一至周五 8:00-17:00 逢单号开放')).toContain('看不懂「逢单号开放」');
    expect(refused('   ')).toContain('为空');
    expect(refused('周一'.repeat(150))).toContain('过长');
  });

  it('files an institution with or without hours, and refuses hours of the wrong shape', () => {
    const base = { id: 'X1', name: '某检验站', type: 'inspection_station', county: '451202' };
    expect(InstitutionSchema.parse(base).hours).toBeUndefined();
    const hours = { workingDays: [1, 2, 3, 4, 5, 6], periods: [p('08:00', '17:00')], observesHolidays: true };
    expect(InstitutionSchema.parse({ ...base, hours }).hours).toEqual(hours);
    expect(InstitutionSchema.safeParse({ ...base, hours: '周一至周六 8:00-17:00' }).success).toBe(false);
    expect(InstitutionSchema.safeParse({ ...base, hours: { ...hours, workingDays: [8] } }).success).toBe(false);
    expect(InstitutionSchema.safeParse({ ...base, hours: { ...hours, extra: 1 } }).success).toBe(false);
    const saturdays = { ...hours, byWeekday: [{ days: [6], periods: [p('08:00', '12:00')] }] };
    expect(InstitutionSchema.parse({ ...base, hours: saturdays }).hours).toEqual(saturdays);
  });
});
