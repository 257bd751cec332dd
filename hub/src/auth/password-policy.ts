/**
 * The password policy, checked wherever a password is set (user creation, an administrator's
 * reset, a user's own change): at least 12 characters, not on the common-password list, not the
 * published demo password outside demo mode, not containing the user name, not one character
 * repeated or a keyboard/number run. Throws PASSWORD_WEAK with the reason in Chinese.
 *
 * The list is short on purpose (what guessing tools try first, plus the obvious Chinese office
 * choices); length does the rest. Comparison is case-insensitive and ignores a trailing run of
 * digits and punctuation, so `Password2024!` counts as `password`.
 */
import { HubError } from '../errors.js';
import { COMMON_PASSWORDS } from './common-passwords.js';
import { DEMO_PASSWORD } from './users.js';

export const PASSWORD_MIN_LENGTH = 12;

export interface PolicyContext {
  username: string;
  /** Demo mode (JG_SEED_DEMO): the demo password is allowed for the demo accounts. */
  demo: boolean;
}

const COMMON = new Set(COMMON_PASSWORDS.map((p) => p.toLowerCase()));
const RUNS = ['0123456789', 'abcdefghijklmnopqrstuvwxyz', 'qwertyuiop', 'asdfghjkl', 'zxcvbnm', '1qaz2wsx3edc4rfv', '9876543210'];

/** The reason a password is refused, or undefined when it passes. */
export function passwordProblem(password: string, ctx: PolicyContext): string | undefined {
  const p = password.normalize('NFKC');
  if (Array.from(p).length < PASSWORD_MIN_LENGTH) return `密码至少${PASSWORD_MIN_LENGTH}位`;
  const lower = p.toLowerCase();
  if (!ctx.demo && lower === DEMO_PASSWORD) return '不能使用演示密码';
  const stem = lower.replace(/[\d\W_]+$/u, '');
  if (COMMON.has(lower) || (stem.length >= 4 && COMMON.has(stem))) return '密码过于常见';
  const user = ctx.username.toLowerCase();
  if (user.length >= 3 && lower.includes(user)) return '密码不能包含用户名';
  if (new Set(Array.from(lower)).size <= 3) return '密码字符种类太少';
  if (RUNS.some((r) => r.includes(lower) || (lower.length >= 8 && r.includes(lower.slice(0, 8))))) return '密码不能是连续的键盘或数字序列';
  return undefined;
}

export function assertPasswordAllowed(password: string, ctx: PolicyContext): void {
  const problem = passwordProblem(password, ctx);
  if (problem) throw new HubError('PASSWORD_WEAK', problem);
}
