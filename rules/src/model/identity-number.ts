/**
 * The resident identity number's (居民身份证号码, GB 11643) check digit: the 18th character is
 * fixed by the first 17 digits. 15-digit numbers of the first generation have none.
 */

const ID_WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const ID_CHECK = '10X98765432';

/** The 18th character of an identity number from its first 17 digits. */
export function idCheckDigit(first17: string): string {
  let sum = 0;
  for (let i = 0; i < 17; i++) sum += Number(first17[i]) * ID_WEIGHTS[i]!;
  return ID_CHECK[sum % 11]!;
}

/** An 18-character number whose check digit matches (an upper-case X). */
export function isValidIdNumber(s: string): boolean {
  return /^\d{17}[\dX]$/.test(s) && idCheckDigit(s.slice(0, 17)) === s[17];
}
