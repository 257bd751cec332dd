/**
 * A backtest: replay stored transactions of [from, to) through two rule sets — the one live when
 * the backtest was asked for and the candidate — each with FRESH in-memory rule state (so neither
 * run touches the live Redis state, and both start from the same empty history), and diff the
 * warnings per transaction: added = raised by the candidate only, removed = by the live set only.
 *
 * Both runs see the same records in the same order (occurred_at, id), the same registry — as it
 * stood at each transaction's time, from one snapshot of the versions taken when the run starts —
 * and the same calendar, so every difference comes from the rules. Warnings that depend on
 * history before `from` are therefore missed by both runs alike.
 */
import {
  createMemoryRuleState,
  type CompiledRuleEngine,
  type EvaluationContext,
  type RuleHit,
  type TemporalRegistry,
  type Transaction,
  type WorkCalendar,
} from '@jianguan/rules';
import type { Store } from '../store/store.js';
import type { BacktestResult, DiffExample, DiffLine } from './repo.js';
import { countTransactions, streamTransactions } from './stream.js';

const DAY_MS = 86_400_000;

export interface BacktestRunDeps {
  store: Store;
  registry: TemporalRegistry;
  calendar: WorkCalendar;
  pageSize: number;
  /** Examples kept per rule and per institution. */
  examples: number;
}

function line(map: Map<string, DiffLine>, key: string, name: string): DiffLine {
  let l = map.get(key);
  if (!l) {
    l = { key, name, live: 0, draft: 0, added: 0, removed: 0, examples: [] };
    map.set(key, l);
  }
  return l;
}

export async function runBacktest(
  deps: BacktestRunDeps,
  live: CompiledRuleEngine,
  draft: CompiledRuleEngine,
  range: { from: number; to: number },
  onProgress: (done: number, total: number) => Promise<void>,
): Promise<BacktestResult> {
  const total = await countTransactions(deps.store, range.from, range.to);
  // Window members older than the longest window in the pack plus a margin can go. The states
  // live for this run only: no expiry to track (nothing is swept or snapshotted).
  const ctxOf = (): Omit<EvaluationContext, 'registry'> => ({ calendar: deps.calendar, ...createMemoryRuleState({ retainMs: 400 * DAY_MS, expiry: false }) });
  const liveState = ctxOf();
  const draftState = ctxOf();
  const byRule = new Map<string, DiffLine>();
  const byInst = new Map<string, DiffLine>();
  const now = deps.registry.at(Number.POSITIVE_INFINITY);
  const instName = (id: string) => now.institution(id)?.name ?? id;
  let done = 0;
  let liveTotal = 0;
  let draftTotal = 0;
  let added = 0;
  let removed = 0;

  await onProgress(0, total);
  // One context per registry view and run, reused across records (not a spread per record).
  const contexts = (state: Omit<EvaluationContext, 'registry'>) => {
    let last: EvaluationContext | undefined;
    return (txn: Transaction): EvaluationContext => {
      const registry = deps.registry.at(txn.occurredAt);
      if (last?.registry !== registry) last = { ...state, registry };
      return last;
    };
  };
  const liveCtx = contexts(liveState);
  const draftCtx = contexts(draftState);
  for await (const page of streamTransactions(deps.store, range.from, range.to, deps.pageSize)) {
    // A page at a time through each engine: memory states answer synchronously, so this is one
    // promise per page and run instead of one per record.
    const [liveResults, draftResults] = [await live.evaluateBatch(page, liveCtx), await draft.evaluateBatch(page, draftCtx)];
    for (let i = 0; i < page.length; i++) {
      const txn = page[i]!;
      const [a, b] = [liveResults[i]!, draftResults[i]!];
      const liveHits = new Map<string, RuleHit>(a.map((h) => [h.rule.id, h]));
      const draftHits = new Map<string, RuleHit>(b.map((h) => [h.rule.id, h]));
      liveTotal += liveHits.size;
      draftTotal += draftHits.size;
      const inst = line(byInst, txn.institutionId, instName(txn.institutionId));
      inst.live += liveHits.size;
      inst.draft += draftHits.size;
      for (const h of liveHits.values()) line(byRule, h.rule.id, h.rule.name).live += 1;
      for (const h of draftHits.values()) line(byRule, h.rule.id, h.rule.name).draft += 1;
      const note = (change: DiffExample['change'], h: RuleHit) => {
        const r = line(byRule, h.rule.id, h.rule.name);
        r[change] += 1;
        inst[change] += 1;
        const ex: DiffExample = { change, ruleId: h.rule.id, transactionId: txn.id, institutionId: txn.institutionId, occurredAt: txn.occurredAt, explanation: h.explanation };
        if (r.examples.filter((e) => e.change === change).length < deps.examples) r.examples.push(ex);
        if (inst.examples.filter((e) => e.change === change).length < deps.examples) inst.examples.push(ex);
      };
      for (const [id, h] of draftHits) if (!liveHits.has(id)) (added += 1, note('added', h));
      for (const [id, h] of liveHits) if (!draftHits.has(id)) (removed += 1, note('removed', h));
      done += 1;
    }
    await onProgress(done, Math.max(total, done));
    // Let sockets and HTTP breathe between pages (the worker shares the hub's event loop).
    await new Promise((resolve) => setImmediate(resolve));
  }
  await onProgress(Math.max(total, done), Math.max(total, done));
  const sorted = (m: Map<string, DiffLine>) => [...m.values()].filter((l) => l.live + l.draft > 0).sort((x, y) => (x.key < y.key ? -1 : x.key > y.key ? 1 : 0));
  return { transactions: done, liveTotal, draftTotal, added, removed, byRule: sorted(byRule), byInstitution: sorted(byInst) };
}
