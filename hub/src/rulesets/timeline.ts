/**
 * The released rule sets in effective order, as plain data, and engineAt() over them: how an
 * evaluation thread (jobs/eval-thread.ts) answers "which rule set judges a batch received at T"
 * exactly as RuleSetService does in the hub thread, without the store.
 */
import { createEngine, type CompiledRuleEngine } from '@jianguan/rules';
import type { RuleSetContent } from './repo.js';

export interface RuleTimelineEntry {
  version: string;
  effectiveAt: number;
  content: RuleSetContent;
  label: string;
}

/** Released rule sets in effective order (see RuleSetService.timeline). Structured-cloneable. */
export interface RuleTimeline {
  builtin: RuleTimelineEntry;
  entries: RuleTimelineEntry[];
}

/**
 * engineAt() over a timeline, for an evaluation thread: compiles each entry once (by version)
 * and answers with the last entry effective at `at`, else the built-in pack — the service's rule.
 */
export class RuleTimelineEngines {
  private engines = new Map<string, CompiledRuleEngine>();
  private entries: { effectiveAt: number; engine: CompiledRuleEngine }[] = [];
  private builtin!: CompiledRuleEngine;

  constructor(timeline: RuleTimeline) {
    this.update(timeline);
  }

  update(timeline: RuleTimeline): void {
    const compile = (e: RuleTimelineEntry) => {
      let engine = this.engines.get(e.version);
      if (!engine) this.engines.set(e.version, (engine = createEngine(e.content.definitions, { params: e.content.params, label: e.label })));
      return engine;
    };
    this.builtin = compile(timeline.builtin);
    this.entries = timeline.entries.map((e) => ({ effectiveAt: e.effectiveAt, engine: compile(e) }));
  }

  engineAt(at: number = Date.now()): CompiledRuleEngine {
    let found: CompiledRuleEngine | undefined;
    for (const e of this.entries) {
      if (e.effectiveAt <= at) found = e.engine;
      else break;
    }
    return found ?? this.builtin;
  }
}

