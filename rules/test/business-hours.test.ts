import { describe, expect, it } from 'vitest';
import { InstitutionSchema, formatBusinessHours, parseBusinessHours, type BusinessHours } from '../src/index.js';

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

  it('refuses what it cannot read, saying what, rather than guessing', () => {
    expect(refused('周一至周五 8:00-17:00，周六 8:00-12:00')).toContain('各营业日须为同一组营业时段');
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
  });
});
