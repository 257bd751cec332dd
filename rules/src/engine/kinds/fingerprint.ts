/**
 * fingerprint: photo hashes (each evidence entry) or the measurement vector, claimed per owner
 * (FingerprintState). Fires when any fingerprint of the record was claimed by another owner
 * within the window. Skipped when ctx.fingerprints is absent or no owner/fingerprint exists.
 */
import type { Transaction } from '../../model/transaction.js';
import { DAY_MS, compileFilters, compileKey, compileMember, isThenable, windowOf, type Finding, type Run } from '../compile-parts.js';
import type { FingerprintRuleDefinition } from '../definition.js';
import { fnv1a64 } from '../hash.js';
import type { FingerprintMatch } from '../types.js';

/** The measurement vector's fingerprint: FNV-1a 64 of `name=value` pairs sorted by name, joined by ';'. */
export function measurementFingerprint(m: Readonly<Record<string, number>>, exclude: ReadonlySet<string>, minValues: number): string | undefined {
  const names: string[] = [];
  for (const k in m) {
    if (!Object.prototype.hasOwnProperty.call(m, k)) continue;
    const v = m[k];
    if (!exclude.has(k) && typeof v === 'number' && Number.isFinite(v)) names.push(k);
  }
  if (names.length < minValues) return undefined;
  names.sort();
  let s = '';
  for (let i = 0; i < names.length; i++) s += (i === 0 ? '' : ';') + names[i] + '=' + m[names[i]!];
  return `m-${fnv1a64(s)}`;
}

export function compileFingerprint(def: FingerprintRuleDefinition): Run {
  const applies = compileFilters(def.when);
  const keyOf = compileKey({ prefix: def.key.prefix, fields: def.key.fields });
  const ownerOf = compileMember(def.owner);
  const window = windowOf(def.params);
  const retainMs = window.ms + DAY_MS;
  const src = def.source;
  const fingerprintsOf: (txn: Transaction) => string[] =
    src.from === 'evidence'
      ? (txn) => {
          // Distinct non-empty photo hashes in order. A Set (hashing each once) rather than
          // indexOf: comparing unflattened strings pairwise was measured slower.
          const ev = txn.evidence;
          if (!ev || ev.length === 0) return [];
          if (ev.length === 1) return ev[0] === '' ? [] : [ev[0]!];
          const seen = new Set<string>();
          const out: string[] = [];
          for (const e of ev) {
            if (e === '' || seen.has(e)) continue;
            seen.add(e);
            out.push(e);
          }
          return out;
        }
      : (() => {
          const exclude = new Set<string>(src.exclude);
          return (txn: Transaction) => {
            const f = txn.measurements ? measurementFingerprint(txn.measurements, exclude, src.minValues) : undefined;
            return f === undefined ? [] : [f];
          };
        })();

  return (txn, ctx) => {
    const state = ctx.fingerprints;
    if (!state || !applies(txn)) return null;
    const key = keyOf(txn, ctx.calendar);
    const owner = ownerOf(txn);
    if (key === undefined || owner === undefined) return null;
    const prints = fingerprintsOf(txn);
    if (prints.length === 0) return null;
    // One call for all of the record's fingerprints when the state offers it (one Redis script
    // instead of one per photo); the answers are the same either way.
    if (state.claimMany) {
      const a = state.claimMany(key, prints, owner, txn.id, txn.occurredAt, window.ms, retainMs);
      return isThenable(a) ? a.then((x) => judge(x, prints, owner)) : judge(a, prints, owner);
    }
    const each = prints.map((f) => state.claim(key, f, owner, txn.id, txn.occurredAt, window.ms, retainMs));
    return each.some(isThenable) ? Promise.all(each).then((a) => judge(a, prints, owner)) : judge(each as FingerprintMatch[], prints, owner);
  };

  function judge(answers: readonly FingerprintMatch[], prints: readonly string[], owner: string): Finding | null {
    let reused = 0;
    let best: { f: string; m: FingerprintMatch } | undefined;
    let otherOwners = 0;
    answers.forEach((m, i) => {
      if (m.others === 0 || !m.first) return;
      reused++;
      otherOwners = Math.max(otherOwners, m.others);
      const f = prints[i]!;
      if (!best || m.first.at < best.m.first!.at || (m.first.at === best.m.first!.at && f < best.f)) best = { f, m };
    });
    if (!best) return null;
    const first = best.m.first!;
    return {
      reason: 'reused',
      values: {
        fingerprint: best.f.slice(0, 16),
        reused,
        otherOwners,
        owner,
        otherOwner: first.owner,
        otherId: first.id,
        otherAt: first.at,
        ...window.values,
      },
    };
  }
}
