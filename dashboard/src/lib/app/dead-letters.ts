/**
 * A dead letter's reason in the screen's language. The hub keeps the reason as its checks word it
 * for collectors and logs ("vehicle.vin: Too small: expected string to have exactly 17
 * characters; …" — the schema's wording, see hub/src/validation/issues.ts, and ingest's own
 * checks in hub/src/ingest/collect.ts and sanity.ts); an administrator reads "车辆识别代号：应为
 * 17 个字符". Each "path: message" is worded by the field's label and a table of the messages'
 * shapes; a message of another shape is shown as the hub wrote it.
 */
import { channelLabel, kindLabel, outcomeLabel, sourceLabel } from './labels';
import { L } from './lang';
import { transactionFieldLabel } from './transaction';

/** What kind of refusal (the hub's code), both languages. */
export const DEAD_LETTER_CODES: Readonly<Record<string, readonly [string, string]>> = {
  RECORD_INVALID: ['记录格式不符合规范', 'Record does not match the schema'],
  RECORD_DUPLICATE: ['同一批内重复的记录', 'Record repeated within its batch'],
  RECORD_ID_FOREIGN: ['记录编号不属于该采集终端', 'Record id is not this collector’s'],
  RECORD_TEXT_INVALID: ['含有无法保存的文字', 'Contains text that cannot be stored'],
  RECORD_TIME_INVALID: ['时间不合理', 'Impossible time'],
  COLLECTOR_MISMATCH: ['记录所署采集终端与发送终端不符', 'Record names another collector'],
  UNKNOWN_INSTITUTION: ['办理机构未备案', 'Institution not in the register'],
  INSTITUTION_NOT_ALLOWED: ['采集终端无权上报该机构的业务', 'Collector may not report for this institution'],
  STORE_REFUSED: ['存储拒收', 'Refused by the store'],
};

export function deadLetterCodeText(code: string): string {
  const c = DEAD_LETTER_CODES[code];
  return c ? L(c[0], c[1]) : L('其他原因', 'Other');
}

/**
 * A record's paths by the transaction view's field names (transaction.ts labels them: the same
 * words as the warning page's record), for the paths whose names differ there.
 */
const AS_SHOWN: Readonly<Record<string, string>> = {
  subject: 'subjectMasked',
  agent: 'agentMasked',
  'vehicle.hpzl': 'hpzl',
  'vehicle.hphm': 'hphm',
  'vehicle.vin': 'vin',
  'licence.zjcx': 'zjcx',
};
/** Paths of a raw record the transaction view does not show, both languages. */
const FIELDS: Readonly<Record<string, readonly [string, string]>> = {
  '(record)': ['整条记录', 'The record'],
  venue: ['考场', 'Exam venue'],
  mac: ['MAC 地址', 'MAC address'],
  staffIdHash: ['经办人员身份', 'Staff identity'],
  userCode: ['用户代码', 'User code'],
  appliedAt: ['申请时间', 'Applied at'],
  vehicle: ['车辆', 'Vehicle'],
  'vehicle.ownerIdHash': ['车辆所有人身份', 'Owner identity'],
  licence: ['驾驶证', 'Licence'],
  'licence.numberHash': ['驾驶证号（密文）', 'Licence number (hashed)'],
  measurements: ['检测数据', 'Measurements'],
  evidence: ['证据引用', 'Evidence references'],
  phone: ['联系电话', 'Phone'],
};
const PERSON_FIELDS: Readonly<Record<string, readonly [string, string]>> = {
  idHash: ['身份（密文）', 'identity (hashed)'],
  masked: ['证件号（脱敏）', 'masked number'],
  birthYear: ['出生年份', 'year of birth'],
  phoneHash: ['电话（密文）', 'phone (hashed)'],
};

/** 'vehicle.vin' → 车辆识别代号; 'agent.idHash' → 代办人身份（密文）; 'evidence.3' → 证据引用第 4 项; unknown paths as written. */
export function fieldText(path: string): string {
  const shown = transactionFieldLabel(AS_SHOWN[path] ?? path);
  if (shown) return shown;
  const known = FIELDS[path];
  if (known) return L(known[0], known[1]);
  const item = /^(.+?)\.(\d+)$/.exec(path) ?? /^(.+?)\[(\d+)\]$/.exec(path);
  if (item) return `${fieldText(item[1]!)}${L(`第 ${Number(item[2]) + 1} 项`, ` item ${Number(item[2]) + 1}`)}`;
  const person = /^(subject|agent)\.(\w+)$/.exec(path);
  if (person && PERSON_FIELDS[person[2]!]) return `${fieldText(person[1]!)}${L(PERSON_FIELDS[person[2]!]![0], ' ' + PERSON_FIELDS[person[2]!]![1])}`;
  const m = /^measurements\.(.+)$/.exec(path);
  if (m) return `${fieldText('measurements')}${L(`「${m[1]}」`, ` "${m[1]}"`)}`;
  return path;
}

const TYPES: Readonly<Record<string, readonly [string, string]>> = {
  string: ['文字', 'text'],
  number: ['数字', 'a number'],
  int: ['整数', 'a whole number'],
  boolean: ['是/否', 'yes/no'],
  object: ['一组字段', 'a group of fields'],
  array: ['列表', 'a list'],
  null: ['空值', 'null'],
  NaN: ['非数字', 'not a number'],
  date: ['日期', 'a date'],
};
const typeText = (t: string) => (TYPES[t] ? L(TYPES[t]![0], TYPES[t]![1]) : t);
/** The code fields whose allowed values have names on the screens. */
const OPTION_NAMES: Readonly<Record<string, (code: string) => string>> = { kind: kindLabel, channel: channelLabel, outcome: outcomeLabel, source: sourceLabel };
const options = (list: string, path: string) =>
  list
    .split('|')
    .map((o) => o.trim().replace(/^"(.*)"$/, '$1'))
    .map((o) => OPTION_NAMES[path]?.(o) ?? o)
    .join(L('、', ', '));

/** One message of the hub's checks about `path`, worded; undefined for a shape not known here. */
function messageText(msg: string, path: string): string | undefined {
  let m: RegExpExecArray | null;
  if ((m = /^Invalid input: expected (\w+), received undefined$/.exec(msg))) return L('缺少此项', 'missing');
  if (/^Invalid input: expected int, received number$/.test(msg)) return L('应为整数', 'should be a whole number');
  if ((m = /^Invalid input: expected (\w+), received (\w+)$/.exec(msg))) return L(`应为${typeText(m[1]!)}，收到的是${typeText(m[2]!)}`, `should be ${typeText(m[1]!)}, got ${typeText(m[2]!)}`);
  if ((m = /^Invalid option: expected one of (.+)$/.exec(msg))) return L(`不是可用的取值（可用：${options(m[1]!, path)}）`, `not one of the allowed values (${options(m[1]!, path)})`);
  if ((m = /^Too small: expected string to have exactly (\d+) characters?$/.exec(msg)) || (m = /^Too big: expected string to have exactly (\d+) characters?$/.exec(msg)))
    return L(`应为 ${m[1]} 个字符`, `should be exactly ${m[1]} characters`);
  if ((m = /^Too small: expected string to have >=?(\d+) characters?$/.exec(msg))) return L(`至少 ${m[1]} 个字符`, `at least ${m[1]} characters`);
  if ((m = /^Too big: expected string to have <=?(\d+) characters?$/.exec(msg))) return L(`最多 ${m[1]} 个字符`, `at most ${m[1]} characters`);
  if ((m = /^Too small: expected (?:number|int|bigint) to be >(\S+)$/.exec(msg))) return L(`应大于 ${m[1]}`, `should be more than ${m[1]}`);
  if ((m = /^Too small: expected (?:number|int|bigint) to be >=(\S+)$/.exec(msg))) return L(`不能小于 ${m[1]}`, `should be at least ${m[1]}`);
  if ((m = /^Too big: expected (?:number|int|bigint) to be <(\S+)$/.exec(msg))) return L(`应小于 ${m[1]}`, `should be less than ${m[1]}`);
  if ((m = /^Too big: expected (?:number|int|bigint) to be <=(\S+)$/.exec(msg))) return L(`不能大于 ${m[1]}`, `should be at most ${m[1]}`);
  if ((m = /^Too small: expected array to have >=?(\d+) items?$/.exec(msg))) return L(`至少 ${m[1]} 项`, `at least ${m[1]} items`);
  if ((m = /^Too big: expected array to have <=?(\d+) items?$/.exec(msg))) return L(`最多 ${m[1]} 项`, `at most ${m[1]} items`);
  if (/^Invalid string: must match pattern/.test(msg) || /^Invalid (string|format)/.test(msg)) return L('格式不正确', 'wrong format');
  if ((m = /^Unrecognized keys?: (.+)$/.exec(msg))) return L(`含有规范之外的字段 ${m[1]}`, `fields outside the schema: ${m[1]}`);
  // ingest's own checks (hub/src/ingest/collect.ts, sanity.ts)
  if ((m = /^record says (.+), connection is (.+)$/.exec(msg))) return L(`记录署名 ${m[1]}，发送终端为 ${m[2]}`, `the record names ${m[1]}; it came from ${m[2]}`);
  if ((m = /^must start with "(.+)" \(got "(.*)"\)$/.exec(msg))) return L(`应以“${m[1]}”开头（收到“${m[2]}”）`, `should start with "${m[1]}" (got "${m[2]}")`);
  if ((m = /^(.+) occurs more than once in this batch$/.exec(msg))) return L(`${m[1]} 在同一批中出现多次`, `${m[1]} occurs more than once in the batch`);
  if ((m = /^(.+) is not in the registry$/.exec(msg))) return L(`${m[1]} 未在备案库中`, `${m[1]} is not in the register`);
  if ((m = /^collector (.+) may not report business of (.+)$/.exec(msg))) return L(`采集终端 ${m[1]} 无权上报 ${m[2]} 的业务`, `collector ${m[1]} may not report for ${m[2]}`);
  if ((m = /^(\S+) is in the future \(hub time (\S+)\)$/.exec(msg))) return L(`${m[1]} 晚于系统当前时间（${m[2]}）`, `${m[1]} is later than the hub's time (${m[2]})`);
  if ((m = /^(\S+) is older than (\d+) days$/.exec(msg))) return L(`${m[1]} 早于 ${m[2]} 天以前，超出可接收范围`, `${m[1]} is more than ${m[2]} days old`);
  if (/^contains a lone UTF-16 surrogate/.test(msg)) return L('含有残缺的文字编码（无法保存为文字）', 'contains a broken character (cannot be stored as text)');
  if (/^contains a control character$/.test(msg)) return L('含有控制字符', 'contains a control character');
  if ((m = /^nested deeper than (\d+) levels$/.exec(msg))) return L(`嵌套超过 ${m[1]} 层`, `nested deeper than ${m[1]} levels`);
  return undefined;
}

export interface ReasonPart {
  /** The field as labelled ('' when the reason names none). */
  field: string;
  /** What is wrong, worded; the hub's text when its shape is not known here. */
  text: string;
  /** Whether `text` is the hub's own wording (shown as written). */
  asWritten: boolean;
}

/** The hub's reason split into its "path: message" parts, each worded. */
export function deadReasonParts(reason: string): ReasonPart[] {
  const parts: ReasonPart[] = [];
  for (const piece of reason.split(/; (?=[\w.[\]()]+: )/)) {
    const m = /^([\w.[\]()]+): (.*)$/s.exec(piece);
    if (!m) {
      parts.push({ field: '', text: piece, asWritten: true });
      continue;
    }
    const worded = messageText(m[2]!, m[1]!);
    parts.push({ field: fieldText(m[1]!), text: worded ?? m[2]!, asWritten: worded === undefined });
  }
  return parts;
}

/** The whole reason as one line: 车辆识别代号：应为 17 个字符；办理机构：缺少此项. */
export function deadReasonText(reason: string): string {
  return deadReasonParts(reason)
    .map((p) => (p.field ? `${p.field}${L('：', ': ')}${p.text}` : p.text))
    .join(L('；', '; '));
}
