/**
 * fingerprint: photo hashes (each evidence entry) or the measurement vector, claimed per owner
 * (FingerprintState). Fires when any fingerprint of the record was claimed by another owner
 * within the window. Skipped when ctx.fingerprints is absent or no owner/fingerprint exists.
 */
import type { Transaction } from '../../model/transaction.js';
import { allOf } from '../later.js';
import { DAY_MS, compileFilters, compileKey, compileMember, isThenable, windowOf, type Finding, type Run } from '../compile-parts.js';
import type { FingerprintRuleDefinition } from '../definition.js';
import { fnvDigest, fnvFeed, fnvReset } from '../hash.js';
import type { FingerprintMatch } from '../types.js';

/** Names of the vector being fingerprinted (reused: measurementFingerprint is synchronous). */
const scratchNames: string[] = [];

/** The measurement vector's fingerprint: FNV-1a 64 of `name=value` pairs sorted by name, joined by ';'. */
export function measurementFingerprint(m: Readonly<Record<string, number>>, exclude: ReadonlySet<string>, minValues: number): string | undefined {
  // Runs on every inspection record: the names go into one reused array, are sorted by insertion
  // (a handful of names; Array#sort allocated a work buffer per call), and the pairs are hashed
  // as they are read instead of being joined into a string first. Same order as sort() (UTF-16
  // code units), same bytes as the joined string (the separators are ASCII, so no surrogate pair
  // straddles two pieces).
  const names = scratchNames; // live part: [0, n); what lies beyond is stale and never read
  let n = 0;
  for (const k in m) {
    if (!Object.prototype.hasOwnProperty.call(m, k)) continue;
    const v = m[k];
    if (!exclude.has(k) && typeof v === 'number' && Number.isFinite(v)) {
      let i = n++;
      while (i > 0 && names[i - 1]! > k) {
        names[i] = names[i - 1]!;
        i--;
      }
      names[i] = k;
    }
  }
  if (n < minValues) return undefined;
  fnvReset();
  for (let i = 0; i < n; i++) {
    if (i > 0) fnvFeed(';');
    fnvFeed(names[i]!);
    fnvFeed('=');
    fnvFeed(String(m[names[i]!]));
  }
  return 'm-' + fnvDigest();
}

/** No fingerprint (shared: never written). */
const NO_PRINTS: readonly string[] = Object.freeze([]);

/** No blank and no repeated entry (a short array: pairwise). */
function isClean(ev: readonly string[]): boolean {
  for (let i = 0; i < ev.length; i++) {
    const e = ev[i]!;
    if (e === '') return false;
    for (let j = 0; j < i; j++) if (ev[j] === e) return false;
  }
  return true;
}

export function compileFingerprint(def: FingerprintRuleDefinition): Run {
  const applies = compileFilters(def.when);
  const keyOf = compileKey({ prefix: def.key.prefix, fields: def.key.fields });
  const ownerOf = compileMember(def.owner);
  const window = windowOf(def.params);
  const retainMs = window.ms + DAY_MS;
  const src = def.source;
  const fingerprintsOf: (txn: Transaction) => readonly string[] =
    src.from === 'evidence'
      ? (txn) => {
          // Distinct non-empty photo hashes in order. A record has a handful of photos, nearly
          // always distinct: the record's own array is used when it has no blank and no repeat
          // (pairwise check — parsed strings compare fast), a copy is made only otherwise.
          const ev = txn.evidence;
          if (!ev || ev.length === 0) return NO_PRINTS;
          if (ev.length <= 16 && isClean(ev)) return ev;
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
            return f === undefined ? NO_PRINTS : [f];
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
    return each.some(isThenable) ? allOf(each).then((a) => judge(a, prints, owner)) : judge(each as FingerprintMatch[], prints, owner);
  };

  function judge(answers: readonly FingerprintMatch[], prints: readonly string[], owner: string): Finding | null {
    let reused = 0;
    let bestAt = 0;
    let bestF: string | undefined;
    let bestFirst: NonNullable<FingerprintMatch['first']> | undefined;
    let otherOwners = 0;
    // A plain loop: this runs on every record with photos, and nearly always finds nothing.
    for (let i = 0; i < answers.length; i++) {
      const m = answers[i]!;
      if (m.others === 0 || !m.first) continue;
      reused++;
      otherOwners = Math.max(otherOwners, m.others);
      const f = prints[i]!;
      if (bestFirst === undefined || m.first.at < bestAt || (m.first.at === bestAt && f < bestF!)) {
        bestFirst = m.first;
        bestAt = m.first.at;
        bestF = f;
      }
    }
    if (bestFirst === undefined) return null;
    return {
      reason: 'reused',
      values: {
        fingerprint: bestF!.slice(0, 16),
        reused,
        otherOwners,
        owner,
        otherOwner: bestFirst.owner,
        otherId: bestFirst.id,
        otherAt: bestFirst.at,
        ...window.values,
      },
    };
  }
}
