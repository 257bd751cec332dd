/**
 * An institution's own business hours (营业时间) on the registry screens: the form's hours field
 * (words in, the hours object out, and back), the records table's cell, and the hours in English.
 * The Chinese words are the rules package's (formatBusinessHours / parseBusinessHours), so the
 * form writes exactly what the hub exports and reads.
 */
import { describe, expect, it } from 'vitest';
import { FIELD_TEXT, formFields, fromForm, toForm } from '$lib/app/form';
import { parseBusinessHours } from '@jianguan/rules';
import { hoursErrorText, hoursInEnglish, hoursReading, hoursText } from '$lib/app/hours';
import { COLUMNS, recordCell } from '$lib/app/registry';
import { english } from '$lib/app/en';
import { inEnglish } from './locale';


const STATION = { id: 'YZ-JYZ', name: '宜州区机动车检测站', type: 'inspection_station', county: '451203', lon: 108.63, lat: 24.51, status: 'active' };
const EVERY_DAY = { workingDays: [1, 2, 3, 4, 5, 6, 7], periods: [{ start: '08:00', end: '17:00' }], observesHolidays: false };
const MON_SAT = { workingDays: [1, 2, 3, 4, 5, 6], periods: [{ start: '08:30', end: '12:00' }, { start: '14:00', end: '17:30' }], observesHolidays: true };

describe('the form’s hours field', () => {
  it('is one field of its own kind, labelled and explained in both languages', () => {
    const f = formFields('institution').find((x) => x.name === 'hours')!;
    expect(f).toMatchObject({ kind: 'hours', label: '营业时间', required: false });
    expect(f.help).toContain('留空则按机构类型');
    expect(english(f.label)).toBe('Business hours');
    expect(english(f.help)).not.toBe(f.help);
    expect(english(f.help)).not.toMatch(/[\u4e00-\u9fff]/);
    // Every institution label and help has its English.
    for (const t of Object.values(FIELD_TEXT.institution)) {
      expect(english(t.label), t.label).not.toBe(t.label);
      if (t.help) expect(english(t.help), t.help).not.toBe(t.help);
    }
  });

  it('shows filed hours as the words the hub exports, and none as empty — never "[object Object]"', () => {
    expect(toForm('institution', { ...STATION, hours: EVERY_DAY }).hours).toBe('每天 08:00–17:00；法定节假日照常营业');
    expect(toForm('institution', { ...STATION, hours: MON_SAT }).hours).toBe('周一至周六 08:30–12:00、14:00–17:30；法定节假日休息');
    expect(toForm('institution', STATION).hours).toBe('');
    expect(toForm('institution', {}).hours).toBe('');
    expect(Object.values(toForm('institution', { ...STATION, hours: MON_SAT })).join(' ')).not.toContain('[object');
  });

  it('reads the words typed into the hours object, and reads its own words back to the same hours', () => {
    const typed = fromForm('institution', { ...toForm('institution', STATION), hours: '周一至周日 8:00-17:00，节假日照常营业' });
    expect(typed).toEqual({ data: { ...STATION, hours: EVERY_DAY } });
    for (const hours of [EVERY_DAY, MON_SAT]) {
      const rec = { ...STATION, hours };
      expect(fromForm('institution', toForm('institution', rec), rec)).toEqual({ data: rec });
    }
  });

  it('says what it cannot read as 营业时间：<reason>, with the other fields still checked', () => {
    const bad = fromForm('institution', { ...toForm('institution', STATION), hours: '周一至周五 8:00-17:00，周六' });
    expect(bad).toEqual({ errors: ['营业时间：未写明周六的营业时段'] });
    const two = fromForm('institution', { ...toForm('institution', STATION), name: '', hours: '上班时间看心情' }) as { errors: string[] };
    expect(two.errors[0]).toMatch(/^营业时间：看不懂「/);
    expect(two.errors.slice(1)).toEqual(['机构名称：必填或格式不正确']);
    // On the English screen: the labels and the reasons in English, the words typed quoted as typed.
    expect(inEnglish(() => fromForm('institution', { ...toForm('institution', STATION), name: '', hours: '上班时间看心情' }))).toEqual({
      errors: ['Business hours: Cannot read “上班时间看心情”; write the hours like 周一至周六 08:30–12:00、14:00–17:30；法定节假日休息', 'Institution name: required, or not in the right form'],
    });
  });

  it('removes the hours when the field is emptied, even from a record that had them', () => {
    const rec = { ...STATION, hours: MON_SAT };
    const r = fromForm('institution', { ...toForm('institution', rec), hours: '  ' }, rec) as { data: Record<string, unknown> };
    expect(r.data).toEqual(STATION);
    expect('hours' in r.data).toBe(false);
    // Other emptied optional fields go the same way (coordinates), fields outside the form stay.
    const staff = { id: 'S1', institutionId: 'YZ-JYZ', role: 'clerk', name: '张三', filed: true, validFrom: 0, validTo: null, idMasked: '4512**********1234' };
    expect((fromForm('staff', toForm('staff', staff), staff) as { data: Record<string, unknown> }).data).toMatchObject({ idMasked: '4512**********1234' });
    const placed = fromForm('institution', { ...toForm('institution', STATION), lon: '', lat: '' }, STATION) as { data: Record<string, unknown> };
    expect('lon' in placed.data || 'lat' in placed.data).toBe(false);
    // Typed into a number input, a coordinate is a number (emptied, null): kept, or removed.
    const typed = fromForm('institution', { ...toForm('institution', {}), id: 'N1', name: '某站', type: 'inspection_station', county: '451203', lon: 108.64, lat: 24.5 }) as { data: Record<string, unknown> };
    expect(typed.data).toMatchObject({ lon: 108.64, lat: 24.5 });
    const cleared = fromForm('institution', { ...toForm('institution', STATION), lon: null, lat: null }, STATION) as { data: Record<string, unknown> };
    expect('lon' in cleared.data || 'lat' in cleared.data).toBe(false);
  });

  it('tells the person typing what will be filed, or why it cannot be read', () => {
    expect(hoursReading('')).toBeNull();
    expect(hoursReading('每天 8点到17点，节假日照常营业')).toEqual({ hours: EVERY_DAY, text: '每天 08:00–17:00；法定节假日照常营业' });
    expect(inEnglish(() => hoursReading('全年无休 8:00-17:00'))).toEqual({ hours: EVERY_DAY, text: 'Every day 08:00–17:00; open on public holidays' });
    expect(inEnglish(() => hoursReading('周一至周五 8:00-17:00，周六 8:00-12:00'))).toMatchObject({ text: 'Mon–Fri 08:00–17:00; Sat 08:00–12:00; closed on public holidays' });
    expect(hoursReading('周一至周五 8:00-17:00，周六')).toEqual({ error: '未写明周六的营业时段' });
  });
});

describe('hours in words', () => {
  it('writes the English form of the rules’ Chinese words', () => {
    expect(hoursInEnglish(MON_SAT)).toBe('Mon–Sat 08:30–12:00, 14:00–17:30; closed on public holidays');
    expect(hoursInEnglish(EVERY_DAY)).toBe('Every day 08:00–17:00; open on public holidays');
    expect(hoursInEnglish({ workingDays: [6, 7], periods: [{ start: '09:00', end: '12:00' }], observesHolidays: true })).toBe('Sat, Sun 09:00–12:00; closed on public holidays');
    expect(hoursInEnglish({ workingDays: [5, 1, 3], periods: [{ start: '14:00', end: '18:00' }, { start: '08:00', end: '12:00' }], observesHolidays: true })).toBe('Mon, Wed, Fri 08:00–12:00, 14:00–18:00; closed on public holidays');
    expect(hoursInEnglish({ workingDays: [1, 2, 3, 5, 6, 7], periods: [{ start: '08:00', end: '24:00' }], observesHolidays: false })).toBe('Mon–Wed, Fri–Sun 08:00–24:00; open on public holidays');
    // Days with periods of their own, after the usual ones, in both languages.
    const saturdays = { ...MON_SAT, byWeekday: [{ days: [6], periods: [{ start: '08:30', end: '12:00' }] }] };
    expect(hoursInEnglish(saturdays)).toBe('Mon–Fri 08:30–12:00, 14:00–17:30; Sat 08:30–12:00; closed on public holidays');
    expect(hoursText(saturdays)).toBe('周一至周五 08:30–12:00、14:00–17:30；周六 08:30–12:00；法定节假日休息');
    expect(toForm('institution', { ...STATION, hours: saturdays }).hours).toBe('周一至周五 08:30–12:00、14:00–17:30；周六 08:30–12:00；法定节假日休息');
    const rec = { ...STATION, hours: saturdays };
    expect(fromForm('institution', toForm('institution', rec), rec)).toEqual({ data: rec });
    expect(hoursText(MON_SAT)).toBe('周一至周六 08:30–12:00、14:00–17:30；法定节假日休息');
    expect(inEnglish(() => hoursText(MON_SAT))).toBe('Mon–Sat 08:30–12:00, 14:00–17:30; closed on public holidays');
  });

  it('gives the records table a 营业时间 column: the hours, or 按机构类型 without them', () => {
    expect(COLUMNS.institution.map(([k, label]) => [k, label])).toContainEqual(['hours', '营业时间']);
    const name = (id: string) => id;
    expect(recordCell('institution', 'hours', { ...STATION, hours: EVERY_DAY }, name)).toBe('每天 08:00–17:00；法定节假日照常营业');
    expect(recordCell('institution', 'hours', STATION, name)).toBe('按机构类型');
    expect(inEnglish(() => recordCell('institution', 'hours', STATION, name))).toBe('By institution type');
    expect(inEnglish(() => recordCell('institution', 'hours', { ...STATION, hours: MON_SAT }, name))).toBe('Mon–Sat 08:30–12:00, 14:00–17:30; closed on public holidays');
    expect(english('营业时间')).toBe('Business hours');
  });
});

describe('reasons hours cannot be read, in English', () => {
  it('says every reason the rules give in English, quoting the words typed', () => {
    const reasons: [string, string][] = [
      ['', 'The hours are empty'],
      ['周一'.repeat(150), 'The hours are too long (200 characters at most)'],
      ['周五至周一 8:00-17:00', 'Cannot read “周五至周一”: the days run backwards'],
      ['周一至周五 25:00-26:00', 'Cannot read “25:00-26:00”: no such time'],
      ['周一至周五 8:30-5:30', '“8:30-5:30” ends before it starts (write an afternoon as 17:30 or 下午5:30)'],
      ['8:00-17:00', 'No days are given (such as 周一至周六 or 每天)'],
      ['周一至周五', 'No periods are given (such as 08:30–17:30)'],
      ['周一至周五 8:00-17:00，周六、周日', 'No periods are given for Sat, Sun'],
      ['周一至周五、周五 8:00-17:00', 'A day is given twice'],
      ['周一至周五 8:00-12:00、11:00-17:00', 'The periods 08:00–12:00 and 11:00–17:00 overlap'],
    ];
    for (const [typed, en] of reasons) {
      const r = hoursReading(typed) ?? parseBusinessHours(typed);
      expect('error' in r, typed).toBe(true);
      const error = (r as { error: string }).error;
      expect(inEnglish(() => hoursErrorText(error)), error).toBe(en);
      // Chinese on the Chinese screen: the rules' own words.
      expect(hoursErrorText(error)).toBe(error);
    }
    // The hours schema's own reasons (hours filed by the API rather than typed).
    for (const [zh, en] of [
      ['周日不是营业日，不能另有营业时段', 'Sun is not an open day, so it cannot have periods of its own'],
      ['周六的营业时段写了两次', 'The periods of Sat are given twice'],
      ['每个营业日都另有时段：通常的营业时段无日可用', 'Every open day has periods of its own: no day is left for the usual periods'],
      ['最多 6 个工作时段', 'Six periods at most'],
    ]) expect(inEnglish(() => hoursErrorText(zh!))).toBe(en);
  });
});

