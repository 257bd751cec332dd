/**
 * Valid-looking identifiers for simulated business: identity numbers with the GB 11643 check
 * digit, VINs with the ISO 3779 / GB 16735 check digit in position 9, 桂M plates, licence
 * archive numbers, photo hashes.
 */
import { idCheckDigit } from '@jianguan/rules';
import type { Rng } from './rng.js';

// The check digit lives with the domain (the hub's registry checks filed numbers with it too).
export { idCheckDigit, isValidIdNumber } from '@jianguan/rules';

/** County codes of 河池 (most people) and a few elsewhere in 广西. */
const HECHI_REGIONS = ['451202', '451203', '451221', '451222', '451223', '451224', '451225', '451226', '451227', '451228', '451229'];
const OTHER_REGIONS = ['450102', '450103', '450203', '450305', '450802', '452601'];

/** A raw 18-character identity number for a person aged roughly `minAge`..`maxAge` in `year`. */
export function identityNumber(rng: Rng, year: number, minAge = 18, maxAge = 70): string {
  const region = rng.chance(0.85) ? rng.pick(HECHI_REGIONS) : rng.pick(OTHER_REGIONS);
  const by = year - rng.int(minAge, maxAge);
  const month = rng.int(1, 12);
  const day = rng.int(1, new Date(Date.UTC(by, month, 0)).getUTCDate());
  const first17 = `${region}${by}${String(month).padStart(2, '0')}${String(day).padStart(2, '0')}${String(rng.int(0, 999)).padStart(3, '0')}`;
  return first17 + idCheckDigit(first17);
}

const VIN_ALPHABET = 'ABCDEFGHJKLMNPRSTUVWXYZ0123456789';
const VIN_VALUES: Readonly<Record<string, number>> = {
  A: 1, B: 2, C: 3, D: 4, E: 5, F: 6, G: 7, H: 8, J: 1, K: 2, L: 3, M: 4, N: 5, P: 7, R: 9,
  S: 2, T: 3, U: 4, V: 5, W: 6, X: 7, Y: 8, Z: 9,
};
const VIN_WEIGHTS = [8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2];
/** Model-year codes (position 10) for 2010–2030. */
const VIN_YEARS = 'ABCDEFGHJKLMNPRSTVWXY';
/** World manufacturer identifiers of makers selling in 广西. */
const WMIS = ['LSV', 'LFV', 'LGB', 'LVS', 'LBV', 'LGW', 'LNB', 'LDC', 'LHG', 'LZW', 'LSG', 'LGX'];

function vinValue(ch: string): number {
  return ch >= '0' && ch <= '9' ? Number(ch) : (VIN_VALUES[ch] ?? 0);
}

export function vinCheckDigit(vin17: string): string {
  let sum = 0;
  for (let i = 0; i < 17; i++) if (i !== 8) sum += vinValue(vin17[i]!) * VIN_WEIGHTS[i]!;
  const r = sum % 11;
  return r === 10 ? 'X' : String(r);
}

export function isValidVin(s: string): boolean {
  return /^[A-HJ-NPR-Z0-9]{17}$/.test(s) && vinCheckDigit(s) === s[8];
}

export function vin(rng: Rng, modelYear: number): string {
  const y = VIN_YEARS[Math.min(Math.max(modelYear - 2010, 0), VIN_YEARS.length - 1)]!;
  const body = `${rng.pick(WMIS)}${rng.chars(VIN_ALPHABET, 5)}0${y}${rng.chars(VIN_ALPHABET, 1)}${rng.chars('0123456789', 6)}`;
  return body.slice(0, 8) + vinCheckDigit(body) + body.slice(9);
}

const PLATE_LETTERS = 'ABCDEFGHJKLMNPQRSTUVWXYZ';
const DIGITS = '0123456789';

/**
 * A 桂M plate stored without the separator dot: 桂M12345, 桂MA2B34; small new-energy 桂MD12345
 * (six characters), trailers 桂M1234挂, driving-school cars 桂M1234学.
 */
export function plate(rng: Rng, hpzl: string): string {
  switch (hpzl) {
    case '51':
    case '52':
      return `桂M${rng.pick(['D', 'F'])}${rng.chars(DIGITS, 5)}`;
    case '15':
      return `桂M${rng.chars(DIGITS, 4)}挂`;
    case '16':
      return `桂M${rng.chars(DIGITS, 4)}学`;
    case '07':
    case '08':
    case '22':
      return `桂M${rng.chars(DIGITS, 5)}`;
    default: {
      const chars = rng.chars(DIGITS, 5).split('');
      const letters = rng.int(0, 2);
      for (let i = 0; i < letters; i++) chars[rng.int(0, 4)] = rng.chars(PLATE_LETTERS, 1);
      return `桂M${chars.join('')}`;
    }
  }
}

/** 12-digit licence archive number (档案编号) issued in 河池. */
export function licenceNumber(rng: Rng): string {
  return `4512${rng.chars(DIGITS, 8)}`;
}

export function photoHash(rng: Rng): string {
  return rng.chars('0123456789abcdef', 64);
}
