/**
 * The hub's reasons for refusing a registry row or item (an import's report, a change request's
 * refusal) in the screen's language. The hub words them in Chinese — they go into import reports
 * people read beside their Chinese sheets — and quotes the values it refused; on the English
 * screen the words are put into English and the quoted values stay as they were written. A reason
 * not listed here is shown as the hub gave it rather than guessed at.
 */
import type { Entity } from './registry';
import { FIELD_TEXT } from './form';
import { hoursErrorText } from './hours';
import { L, tr } from './lang';

const REASONS_EN: readonly [RegExp, (m: RegExpExecArray) => string][] = [
  [/^不是日期：(.*)（像是 Excel 的日期序号：请把该列设为日期格式，或写作 2019-03-01）$/s, (m) => `Not a date: ${m[1]} (it looks like an Excel date serial: format the column as a date, or write 2019-03-01)`],
  [/^不是日期：(.*)$/s, (m) => `Not a date: ${m[1]}`],
  [/^不是是\/否：(.*)$/s, (m) => `Not yes or no: ${m[1]}`],
  [/^不是数字：(.*)$/s, (m) => `Not a number: ${m[1]}`],
  [/^未知列：(.*)$/s, (m) => `Unknown column: ${m[1]}`],
  [/^文件为空$/, () => 'The file is empty'],
  [/^没有数据行$/, () => 'No data rows'],
  [/^有效期止须晚于有效期起$/, () => 'Valid to must be after valid from'],
  [/^取值无效：(.*)（可选：(.*)）$/s, (m) => `Not a valid value: ${m[1]} (one of: ${m[2]})`],
  [/^缺少必填项$/, () => 'Required'],
  [/^类型错误：(.*)$/s, (m) => `Wrong type: ${m[1]}`],
  [/^过短或过小：(.*)$/s, (m) => `Too short or too small: ${m[1]}`],
  [/^过长或过大：(.*)$/s, (m) => `Too long or too large: ${m[1]}`],
  [/^格式错误：(.*)$/s, (m) => `Wrong format: ${m[1]}`],
  [/^不是河池市的区县代码：(.*)$/s, (m) => `Not a county code of Hechi: ${m[1]}`],
  [
    /^重复：(.*)，同第 (\d+) (行|项)（同一编号出现多行时，须各有不同的有效期起，每行为一个时期的备案）$/s,
    (m) => `Repeated: ${m[1]}, the same as ${m[3] === '行' ? 'row' : 'item'} ${m[2]} (rows with the same number need different valid-from dates: each row is the filing of one period)`,
  ],
  [/^重复：(.*)（同一编号出现多行时，须各有不同的有效期起，每行为一个时期的备案）$/s, (m) => `Repeated: ${m[1]} (rows with the same number need different valid-from dates: each row is the filing of one period)`],
  [/^机构不存在：(.*)$/s, (m) => `No such institution: ${m[1]}`],
  [/^超出管辖范围：(.*)$/s, (m) => `Outside your area: ${m[1]}`],
  [/^经度和纬度须同时填写（或都不填）$/, () => 'Longitude and latitude go together (both or neither)'],
  [/^应为身份证号码或采集端摘要（64位十六进制）$/, () => 'Expected an identity number or a collector digest (64 hexadecimal digits)'],
  [/^应为身份证号码（18位或15位）或采集端摘要（64位十六进制）$/, () => 'Expected an identity number (18 or 15 digits) or a collector digest (64 hexadecimal digits)'],
  [
    /^身份证号码 (\S+) 末三位为 000 且校验位不符/,
    (m) => `Identity number ${m[1]} ends in 000 and its check digit does not fit: it looks typed into Excel as a number, which rewrote it from the 16th digit on. Format the column as text, type the numbers again and import again`,
  ],
  [
    /^身份证号码是科学计数法/,
    () => 'The identity number is in scientific notation (such as 4.51202E+17): it looks typed into Excel as a number, which lost it from the 16th digit on. Format the column as text, type the numbers again and import again',
  ],
  [/^未配置 JG_PSEUDONYM_KEY/, () => 'JG_PSEUDONYM_KEY is not set on the hub: only collector digests can be filed, not identity numbers'],
];

/** A reason the hub gave for refusing a row or an item, in the current language. */
export function reasonText(message: string): string {
  for (const [re, en] of REASONS_EN) {
    const m = re.exec(message);
    if (m) return L(message, en(m));
  }
  // Business hours the hub could not read: the same reasons the registry form gives.
  return hoursErrorText(message);
}

/**
 * The field a reason is about, by its label: a field's code (validTo) as the form names it, a
 * column's header (营业时间) as the sheet has it, '—' for none.
 */
export function reasonField(entity: Entity, field: string | undefined): string {
  if (!field) return '—';
  const label = FIELD_TEXT[entity]?.[field]?.label ?? OTHER_FIELDS[field];
  return label ? tr(label) : field;
}

/** Fields a reason may name that are no field of the entity's form: a version's dates, the identity number. */
const OTHER_FIELDS: Readonly<Record<string, string>> = { validFrom: '有效期起', validTo: '有效期至', idNumber: '身份证号码' };
