/**
 * One wording for zod failures everywhere a coded error carries them (BATCH_INVALID,
 * RECORD_INVALID, BODY_INVALID, CONFIG_INVALID): "field.path: message; …", so a dead letter, a
 * 400 body and a refused config file read alike and tests can match on the path.
 */
import type { z } from 'zod';

export interface DescribeOptions {
  /** How a root-level issue (empty path) is named: '(record)', '(transaction)' … */
  root?: string;
  /** At most this many issues; a hostile input can produce thousands. @defaultValue 8 */
  max?: number;
  /** Names a non-empty path (the configuration names a key by its environment variable). @defaultValue path.join('.') */
  name?: (path: readonly PropertyKey[]) => string;
}

export function describeIssues(error: z.ZodError, { root = '(root)', max = 8, name = (p) => p.map(String).join('.') }: DescribeOptions = {}): string {
  return error.issues
    .slice(0, max)
    .map((i) => `${i.path.length ? name(i.path) : root}: ${i.message}`)
    .join('; ');
}
