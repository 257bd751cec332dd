/**
 * peer_deviation: declarative only. The engine compiles it into a PeerRule (predicates for the
 * scheduled job's counting, and assess() for the comparison); evaluate() never runs it.
 *
 * assess(samples): per group (institution type, or one group for 'all'), entities with at least
 * minSamples records (denominator for rates, the count itself for counts) are eligible. Each
 * eligible entity is compared with the OTHER eligible entities of its group (leave-one-out: an
 * outlier does not pull the mean towards itself, so "z > 3" can fire with a handful of peers),
 * and only when there are at least minPeers of them:
 *   sigma: z = (value − mean) / σ (population σ of the others; σ = 0 → not judged); fires when
 *          z > k (above) or z < −k (below);
 *   pp:    deviation = (rate − mean rate) × 100 percentage points; fires when > pp or < −pp.
 * Comparisons are strict and made on values rounded to 1e-9 (so 15.000000000000002 pp is 15).
 * Findings come out sorted by group, then entity.
 */
import type { RegistryView } from '../../model/registry.js';
import type { Transaction } from '../../model/transaction.js';
import type { HitValues } from '../../model/warning.js';
import type { WorkCalendar } from '../calendar.js';
import { DEFAULT_CALENDAR, createWorkCalendar } from '../calendar.js';
import { compileFilters, type Evaluator } from '../compile-parts.js';
import type { PeerDeviationRuleDefinition } from '../definition.js';
import { fieldGetter, isPresent } from '../fields.js';
import type { PeerFinding, PeerRule, PeerSample, RuleMeta } from '../types.js';

const round9 = (x: number): number => Math.round(x * 1e9) / 1e9;
let defaultCalendar: WorkCalendar | undefined;

export function compilePeerDeviation(def: PeerDeviationRuleDefinition, meta: RuleMeta, explain: Evaluator['explain']): PeerRule {
  const applies = compileFilters(def.when);
  const entityGet = fieldGetter(def.entity);
  const m = def.metric;
  const inDenominator = m.type === 'rate' ? compileFilters(m.denominator) : compileFilters(m.of);
  const numeratorOnly = m.type === 'rate' ? compileFilters(m.numerator) : () => true;
  const p = def.params;
  const isRate = m.type === 'rate';

  const assess = (samples: readonly PeerSample[], calendar?: WorkCalendar, registry?: RegistryView): PeerFinding[] => {
    const cal = calendar ?? (defaultCalendar ??= createWorkCalendar(DEFAULT_CALENDAR));
    const groups = new Map<string, { entity: string; value: number; basis: number }[]>();
    for (const s of samples) {
      const basis = isRate ? s.denominator : s.numerator;
      if (!(basis >= p.minSamples) || !Number.isFinite(basis)) continue;
      const value = isRate ? s.numerator / s.denominator : s.numerator;
      if (!Number.isFinite(value)) continue;
      const g = groups.get(s.group) ?? [];
      g.push({ entity: s.entity, value, basis });
      groups.set(s.group, g);
    }
    const findings: PeerFinding[] = [];
    const scale = isRate ? 100 : 1;
    for (const group of [...groups.keys()].sort()) {
      const list = groups.get(group)!;
      const sum = list.reduce((a, x) => a + x.value, 0);
      const sumSq = list.reduce((a, x) => a + x.value * x.value, 0);
      for (const e of [...list].sort((a, b) => (a.entity < b.entity ? -1 : a.entity > b.entity ? 1 : 0))) {
        const n = list.length - 1;
        if (n < p.minPeers) continue;
        const mean = (sum - e.value) / n;
        const variance = Math.max(0, (sumSq - e.value * e.value) / n - mean * mean);
        const std = Math.sqrt(variance);
        let direction: 'above' | 'below' | undefined;
        const values: HitValues = {
          entity: e.entity,
          group,
          metric: m.label,
          value: round9(e.value * scale),
          peerMean: round9(mean * scale),
          peerStd: round9(std * scale),
          samples: e.basis,
          peers: n,
          periodDays: p.periodDays,
        };
        if (p.method === 'sigma') {
          if (!(std > 0)) continue;
          const z = round9((e.value - mean) / std);
          values.z = z;
          values.zAbs = Math.abs(z);
          values.k = p.k!;
          if (z > p.k!) direction = 'above';
          else if (z < -p.k!) direction = 'below';
        } else {
          const dev = round9((e.value - mean) * 100);
          values.deviationPp = dev;
          values.deviationPpAbs = Math.abs(dev);
          values.pp = p.pp!;
          if (dev > p.pp!) direction = 'above';
          else if (dev < -p.pp!) direction = 'below';
        }
        if (!direction || (p.direction !== 'both' && p.direction !== direction)) continue;
        findings.push({ rule: meta, entity: e.entity, group, direction, explanation: explain(direction, values, {} as Transaction, cal, registry), values });
      }
    }
    return findings;
  };

  return Object.freeze({
    meta,
    periodDays: p.periodDays,
    entityOf: (txn: Transaction) => {
      const v = entityGet(txn);
      return isPresent(v) ? String(v) : undefined;
    },
    inDenominator: (txn: Transaction) => applies(txn) && inDenominator(txn),
    inNumerator: (txn: Transaction) => applies(txn) && inDenominator(txn) && numeratorOnly(txn),
    assess,
  });
}
