/** Bilingual strings for the office screens: Chinese first, English when switched (中/EN). */
import { i18n } from '../i18n/index.svelte';

export function L(zh: string, en: string): string {
  return i18n.locale === 'en' ? en : zh;
}
