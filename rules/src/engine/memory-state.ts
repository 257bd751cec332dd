/**
 * Every rule state in memory, exact: what tests, the embedded demo and the bench pass as the
 * state members of an EvaluationContext.
 */
import { createMemoryFingerprintState, type MemoryFingerprintState } from './fingerprint-state.js';
import { createMemoryIntervalState, type MemoryIntervalState } from './interval-state.js';
import { createMemorySequenceState, type MemorySequenceState } from './sequence-state.js';
import { createMemoryWindowState, type MemoryWindowState, type MemoryWindowStateOptions } from './window-state.js';

export interface MemoryRuleState {
  state: MemoryWindowState;
  intervals: MemoryIntervalState;
  fingerprints: MemoryFingerprintState;
  sequences: MemorySequenceState;
}

export function createMemoryRuleState(options: MemoryWindowStateOptions = {}): MemoryRuleState {
  return {
    state: createMemoryWindowState(options),
    intervals: createMemoryIntervalState(),
    fingerprints: createMemoryFingerprintState(),
    sequences: createMemorySequenceState(),
  };
}
