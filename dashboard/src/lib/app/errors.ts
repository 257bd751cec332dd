/**
 * The hub's error codes in words, Chinese and English (the hub's own messages are technical
 * English): what a screen says when the hub refuses or fails.
 */
import { L } from './lang';

const CODES: Record<string, readonly [zh: string, en: string]> = {
  AUTH_REQUIRED: ['请先登录', 'Please sign in first'],
  LOGIN_FAILED: ['用户名或密码错误', 'Wrong user name or password'],
  LOGIN_LOCKED: ['登录失败次数过多，请稍后再试', 'Too many failed sign-ins: try again later'],
  FORBIDDEN: ['当前角色无权执行此操作', 'Your role may not do this'],
  OUT_OF_SCOPE: ['超出您的管辖范围', 'This is outside your area'],
  NOT_FOUND: ['未找到该记录', 'Not found'],
  CONFLICT: ['该预警已被他人更新，您看到的不是最新状态', 'Someone else has updated this warning: what you see is not the latest'],
  INVALID_TRANSITION: ['当前状态下不能执行该操作', 'This cannot be done in the current state'],
  BODY_INVALID: ['提交的内容不完整或格式不正确', 'What was sent is incomplete or not in the right form'],
  QUERY_INVALID: ['查询条件不正确', 'The query is not right'],
  PAYLOAD_TOO_LARGE: ['文件过大', 'The file is too large'],
  SAME_APPROVER: ['审批人不能是申请人（起草人），请由另一名管理员审批', 'The approver cannot be the requester (or drafter): another administrator must approve'],
  REQUEST_PERIOD_OVER: ['该申请的截止时间已过，审批后也不会生效，请重新提交', 'The period of this request has already ended: file it again'],
  RULESET_NOT_DRAFT: ['该规则集已不是草稿', 'This rule set is no longer a draft'],
  RULESET_INVALID: ['规则集无法编译，请检查规则定义与参数', 'The rule set does not compile: check the rule definitions and parameters'],
  RULESET_DIFF_TOO_LARGE: ['回测差异超过发布阈值', 'The backtest difference is over the release threshold'],
  BACKTEST_NOT_READY: ['回测尚未完成', 'The backtest has not finished'],
  BACKUP_RUNNING: ['已有备份正在进行，请稍候', 'A backup is already running: wait for it'],
  BACKUP_UNSUPPORTED: ['本系统使用外部 ClickHouse 服务器，请用服务器自带的备份功能', 'The data is in an external ClickHouse server: back it up with the server’s own backup'],
  NETWORK: ['无法连接到服务器，请检查网络', 'Cannot reach the server: check the network'],
};

/** The error codes said in words (the rest fall back to the hub's message). */
export const KNOWN_ERROR_CODES: readonly string[] = Object.keys(CODES);

export function errorText(status: number, code: string, detail = ''): string {
  const known = CODES[code];
  if (known) return L(known[0], known[1]);
  if (status >= 500) return L(`服务器错误（${code}），请稍后重试`, `Server error (${code}): try again later`);
  return detail ? L(`请求失败：${detail}`, `Request failed: ${detail}`) : L(`请求失败（${code}）`, `Request failed (${code})`);
}
