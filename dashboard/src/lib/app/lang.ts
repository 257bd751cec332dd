/** Bilingual strings for the office screens: Chinese first, English when switched (中/EN). */
import { i18n } from '../i18n/index.svelte';
import { english } from './en';

export function L(zh: string, en: string): string {
  return i18n.locale === 'en' ? en : zh;
}

/**
 * A label from a shared Chinese table (rules, hub, registry form text) in the current language:
 * the Chinese itself, or its English from `EN`. Data values never go through here.
 */
export function tr(zh: string): string {
  return i18n.locale === 'en' ? english(zh) : zh;
}
