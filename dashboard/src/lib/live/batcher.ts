/**
 * Gathers live wall events and hands them over at most once per window (leading-edge throttle),
 * so a burst of socket messages costs one state update and one render: the first event after a
 * quiet window is applied at once — a warning is on the screen as soon as it arrives — and the
 * ones arriving within `intervalMs` of an application travel together at the window's end (a
 * trailing-only throttle kept every warning off the screen for up to a whole window, even on a
 * quiet wall). Pending warnings are bounded:
 * if the page cannot keep up (a hidden tab, a slow screen), the oldest pending ones are dropped —
 * they would have scrolled off the ticker anyway, and the next statistics event or snapshot
 * carries the authoritative counts.
 */
import type { WallStats, WallWarning } from '@jianguan/protocol';
import type { LiveBatch } from '../state/wall.svelte';

export interface BatcherOptions {
  /** Shortest time between two applications, in ms. @defaultValue 100 */
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
  /** When the last batch was applied (Date.now()). */
  #appliedAt = -Infinity;
  /** Warnings dropped because the pending queue was full (for diagnostics). */
  dropped = 0;

  constructor(apply: (batch: LiveBatch) => void, options: BatcherOptions = {}) {
    this.intervalMs = options.intervalMs ?? 100;
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
    this.#appliedAt = Date.now();
    this.#apply(batch);
  }

  dispose(): void {
    this.clear();
  }

  #schedule(): void {
    if (this.#timer !== null) return;
    const wait = this.#appliedAt + this.intervalMs - Date.now();
    if (wait <= 0) this.flush();
    else this.#timer = setTimeout(() => this.flush(), wait);
  }
}
