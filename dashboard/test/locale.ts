/** The unit tests' way of reading a helper's words on the English screen. */
import { i18n } from '$lib/i18n/index.svelte';

/** Runs `f` with the screens switched to English, back to Chinese after. */
export function inEnglish<T>(f: () => T): T {
  i18n.locale = 'en';
  try {
    return f();
  } finally {
    i18n.locale = 'zh';
  }
}
