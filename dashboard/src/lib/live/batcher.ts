/**
 * Gathers live wall events and hands them over in one batch per window (trailing throttle), so a
 * burst of socket messages costs one state update and one render. Pending warnings are bounded:
 * if the page cannot keep up (a hidden tab, a slow screen), the oldest pending ones are dropped —
 * they would have scrolled off the ticker anyway, and the next statistics event or snapshot
 * carries the authoritative counts.
 */
import type { WallStats, WallWarning } from '@jianguan/protocol';
import type { LiveBatch } from '../state/wall.svelte';

export interface BatcherOptions {
  /** Batch window in ms. @defaultValue 250 */
  intervalMs?: number;
  /** Pending warnings kept at most before the oldest are dropped. @defaultValue 1000 */
  maxPending?: number;
}

export class Batcher {
  readonly intervalMs: number;
  readonly maxPending: number;
  #apply: (batch: LiveBatch) => void;
  #warnings: WallWarning[] = [];
  #stats: WallStats | null = null;
  #timer: ReturnType<typeof setTimeout> | null = null;
  /** Warnings dropped because the pending queue was full (for diagnostics). */
  dropped = 0;

  constructor(apply: (batch: LiveBatch) => void, options: BatcherOptions = {}) {
    this.intervalMs = options.intervalMs ?? 250;
    this.maxPending = options.maxPending ?? 1000;
    if (!(this.intervalMs >= 0)) throw new RangeError('intervalMs must be ≥ 0');
    if (!(this.maxPending >= 1)) throw new RangeError('maxPending must be ≥ 1');
    this.#apply = apply;
  }

  get pending(): number {
    return this.#warnings.length + (this.#stats ? 1 : 0);
  }

  warnings(batch: readonly WallWarning[]): void {
    if (!Array.isArray(batch) || batch.length === 0) return;
    for (const w of batch) this.#warnings.push(w);
    const excess = this.#warnings.length - this.maxPending;
    if (excess > 0) {
      this.#warnings.splice(0, excess);
      this.dropped += excess;
    }
    this.#schedule();
  }

  /** Statistics replace each other: only the latest in a window is applied. */
  stats(stats: WallStats): void {
    this.#stats = stats;
    this.#schedule();
  }

  /** Drops everything pending (a snapshot supersedes it). */
  clear(): void {
    this.#warnings = [];
    this.#stats = null;
    if (this.#timer !== null) {
      clearTimeout(this.#timer);
      this.#timer = null;
    }
  }

  /** Applies what is pending now. */
  flush(): void {
    if (this.#timer !== null) {
      clearTimeout(this.#timer);
      this.#timer = null;
    }
    if (this.#warnings.length === 0 && this.#stats === null) return;
    const batch: LiveBatch = { warnings: this.#warnings, stats: this.#stats };
    this.#warnings = [];
    this.#stats = null;
    this.#apply(batch);
  }

  dispose(): void {
    this.clear();
  }

  #schedule(): void {
    if (this.#timer === null) this.#timer = setTimeout(() => this.flush(), this.intervalMs);
  }
}
