/**
 * The hub's reasons for refusing registry rows, in the screen's language: read from what the
 * hub's own import code says about bad rows (hub/src/registry/entities.ts), so a reason the hub
 * words differently shows up here rather than as Chinese on the English screen.
 */
import { describe, expect, it } from 'vitest';
import { rowsToRecords } from '../../hub/src/registry/entities';
import { reasonField, reasonText } from '$lib/app/registry-messages';
import { inEnglish } from './locale';

describe("the hub's reasons for refusing rows", () => {
  it('says every reason an import gives in English, keeping the values as the sheet wrote them', () => {
    const staff = rowsToRecords('staff', [
      ['编号', '机构', '角色', '姓名', '备案', '有效期起', '有效期止', '工号'],
      ['S1', 'JCJ-JYZ', '查验员', '甲', '也许', '2019-03-01', ''],
      ['S2', 'JCJ-JYZ', '厨师', '乙', '是', '43525', ''],
      ['S3', 'JCJ-JYZ', '查验员', '丙', '是', '2019-03-01', '2018-01-01'],
      ['S4', '', '查验员', '丁', '是', '2019-02-30', ''],
    ]);
    const inst = rowsToRecords('institution', [
      ['编号', '名称', '类型', '区县', '经度', '纬度', '营业时间'],
      ['A', '甲站', '检测站', '宜州区', 'abc', '', ''],
      ['B', '乙站', '检测站', '宜州区', '108.6', '', ''],
      ['C', '丙站', '检测站', '宜州区', '', '', '周一至周五 8:00-17:00，周六'],
    ]);
    const reasons = [...staff.errors, ...inst.errors].map((e) => e.message);
    expect(reasons.length).toBeGreaterThanOrEqual(8);
    for (const r of reasons) {
      const en = inEnglish(() => reasonText(r));
      expect(en, r).not.toBe(r);
      // What is left in Chinese is what the sheet wrote (quoted values, the labels it may use).
      expect(en.replace(/[^\u3400-\u9fff]/g, '').length, en).toBeLessThan(r.replace(/[^\u3400-\u9fff]/g, '').length);
      expect(reasonText(r)).toBe(r);
    }
    const say = (zh: string) => inEnglish(() => reasonText(zh));
    expect(say('未知列：工号')).toBe('Unknown column: 工号');
    expect(say('不是是/否：也许')).toBe('Not yes or no: 也许');
    expect(say('不是日期：43525（像是 Excel 的日期序号：请把该列设为日期格式，或写作 2019-03-01）')).toBe('Not a date: 43525 (it looks like an Excel date serial: format the column as a date, or write 2019-03-01)');
    expect(say('取值无效：厨师（可选：业务员、查验员）')).toBe('Not a valid value: 厨师 (one of: 业务员、查验员)');
    expect(say('未写明周六的营业时段')).toBe('No periods are given for Sat');
    expect(say('机构不存在：XX-1')).toBe('No such institution: XX-1');
    expect(say('重复：黑名单 45**************3X，同第 2 行（同一编号出现多行时，须各有不同的有效期起，每行为一个时期的备案）')).toBe(
      'Repeated: 黑名单 45**************3X, the same as row 2 (rows with the same number need different valid-from dates: each row is the filing of one period)',
    );
    expect(say('重复：S1，同第 3 项（同一编号出现多行时，须各有不同的有效期起，每行为一个时期的备案）')).toMatch(/^Repeated: S1, the same as item 3 \(/);
    expect(say('身份证号码是科学计数法（如 4.51202E+17）：像是在 Excel 中按数字录入，第 16 位起已丢失。请把该列设为文本格式、重新录入号码后再导入')).toMatch(/^The identity number is in scientific notation/);
    expect(inEnglish(() => reasonField('listing', 'key'))).not.toBe('key');
    // A reason not known here: as the hub gave it.
    expect(say('某个新的原因')).toBe('某个新的原因');
  });

  it('names the field by its label, in the screen language', () => {
    expect(reasonField('staff', 'validTo')).toBe('备案有效期至');
    expect(inEnglish(() => reasonField('staff', 'validTo'))).toBe('Filing valid to');
    expect(inEnglish(() => reasonField('institution', 'validFrom'))).toBe('Valid from');
    expect(inEnglish(() => reasonField('staff', 'idNumber'))).toBe('Identity number');
    expect(reasonField('staff', '工号')).toBe('工号');
    expect(reasonField('staff', '')).toBe('—');
  });
});
