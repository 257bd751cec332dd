/**
 * A warning checked again: its rule evaluated once more on its stored transaction, with the
 * filings as they now stand for the business's time (a staff filing or an institution's hours
 * back-dated since) and the work calendar now in force (a year's holidays entered late).
 *
 * What it is for: at go-live, and whenever a filing is corrected after the fact, warnings raised
 * on the old filings sit in auditors' queues. Each one still has to be worked to a verified close
 * (the workflow does not change); the recheck tells the auditor which ones the system itself no
 * longer raises, so they can be verified — and concluded as false alarms — in bulk, citing it.
 *
 * Only rules that judge one record by itself are checked again: a rule that counts history
 * (windows, overlaps, fingerprints, sequences) cannot be replayed from a single record, and
 * scheduled or system warnings (peer deviation, a collector's silence) have no record to replay.
 * Those come back `not_checkable` with the reason. Nothing is written: the answer is advice.
 */
import { createMemoryRuleState, stateKindOf, type CompiledRuleEngine, type RegistryView, type WorkCalendar } from '@jianguan/rules';
import type { RecheckItem, RecheckResult } from '../protocol/index.js';
import { transactionsByIds } from '../backtest/stream.js';
import type { Store } from '../store/store.js';
import { warningsByIds } from './repo.js';

export interface RecheckDeps {
  store: Store;
  /** The registry as it stood at a time, with every version known now (Registry.at). */
  registryAt: (at: number) => RegistryView;
  calendar: WorkCalendar;
  /** The rule set in force now. */
  engine: () => CompiledRuleEngine;
}

/**
 * Checks the warnings `ids` again. `assertInScope(county)` throws for a warning the caller may
 * not see (before anything is evaluated); an id with no warning answers `not_found`.
 * `institutions`, optional: the warnings' institutions, to read fewer rows.
 */
export async function recheckWarnings(deps: RecheckDeps, ids: readonly string[], assertInScope: (county: string) => void, institutions?: readonly string[]): Promise<RecheckResult> {
  const unique = [...new Set(ids)];
  // The institutions, when the caller knows them (its list shows them), narrow the read to their
  // part of the table; a warning of another institution is then not found.
  const warnings = await warningsByIds(deps.store, unique, institutions);
  for (const w of warnings.values()) assertInScope(w.county);
  const engine = deps.engine();
  const perRecord = new Set(engine.definitions.filter((d) => stateKindOf(d) === 'none').map((d) => d.id));
  const known = new Set(engine.definitions.map((d) => d.id));
  const replayable = [...warnings.values()].filter((w) => perRecord.has(w.rule_id));
  const txns = await transactionsByIds(
    deps.store,
    replayable.map((w) => w.transaction_id),
    replayable.map((w) => w.institution_id),
  );
  // State the per-record rules never read, but the engine's context requires; fresh per call so
  // nothing the live pipeline counts is touched.
  const state = createMemoryRuleState({ retainMs: 86_400_000, expiry: false });
  const results: RecheckItem[] = [];
  for (const id of unique) {
    const w = warnings.get(id);
    if (!w) {
      results.push({ id, outcome: 'not_checkable', reason: 'not_found' });
      continue;
    }
    const then = { explanationThen: w.explanation };
    if (!perRecord.has(w.rule_id)) {
      results.push({ id, outcome: 'not_checkable', reason: known.has(w.rule_id) ? 'stateful' : 'not_per_record', ...then });
      continue;
    }
    const txn = txns.get(w.transaction_id);
    if (!txn) {
      results.push({ id, outcome: 'not_checkable', reason: 'no_transaction', ...then });
      continue;
    }
    const hits = await engine.evaluate(txn, { ...state, calendar: deps.calendar, registry: deps.registryAt(txn.occurredAt) });
    const hit = hits.find((h) => h.rule.id === w.rule_id);
    results.push(hit ? { id, outcome: 'still', ...then, explanationNow: hit.explanation } : { id, outcome: 'no_longer', ...then });
  }
  const count = (o: RecheckItem['outcome']) => results.filter((r) => r.outcome === o).length;
  return { checked: results.length, still: count('still'), noLonger: count('no_longer'), notCheckable: count('not_checkable'), ruleSet: engine.version, results };
}
