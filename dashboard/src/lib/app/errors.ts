/** Chinese messages for the hub's error codes (the hub's own messages are English). */
const CODES: Record<string, string> = {
  AUTH_REQUIRED: '请先登录',
  LOGIN_FAILED: '用户名或密码错误',
  LOGIN_LOCKED: '登录失败次数过多，请稍后再试',
  FORBIDDEN: '当前角色无权执行此操作',
  OUT_OF_SCOPE: '超出您的管辖范围',
  NOT_FOUND: '未找到该记录',
  CONFLICT: '该预警已被他人更新，您看到的不是最新状态',
  INVALID_TRANSITION: '当前状态下不能执行该操作',
  BODY_INVALID: '提交的内容不完整或格式不正确',
  QUERY_INVALID: '查询条件不正确',
  PAYLOAD_TOO_LARGE: '文件过大',
  SAME_APPROVER: '审批人不能是申请人（起草人），请由另一名管理员审批',
  RULESET_NOT_DRAFT: '该规则集已不是草稿',
  RULESET_INVALID: '规则集无法编译，请检查规则定义与参数',
  RULESET_DIFF_TOO_LARGE: '回测差异超过发布阈值',
  BACKTEST_NOT_READY: '回测尚未完成',
  BACKUP_RUNNING: '已有备份正在进行，请稍候',
  BACKUP_UNSUPPORTED: '本系统使用外部 ClickHouse 服务器，请用服务器自带的备份功能',
  NETWORK: '无法连接到服务器，请检查网络',
};

export function errorText(status: number, code: string, detail = ''): string {
  const known = CODES[code];
  if (known) return known;
  if (status >= 500) return `服务器错误（${code}），请稍后重试`;
  return detail ? `请求失败：${detail}` : `请求失败（${code}）`;
}
