/**
 * Rotation between the wall's full-screen views (`/wall?rotate=60`: every 60 s; off by default).
 * One interval drives both the switch and the countdown shown in the indicator; a manual switch
 * (←/→) restarts the countdown so the chosen view stays its full period. `stop()` clears the
 * interval: the wall runs for weeks, and a leaked timer per navigation would add up.
 */

export const WALL_VIEWS = ['overview', 'trend', 'ranking', 'health'] as const;
export type WallView = (typeof WALL_VIEWS)[number];

/** Shortest and longest accepted periods (seconds); anything else leaves rotation off. */
export const ROTATE_MIN_S = 2;
export const ROTATE_MAX_S = 3600;

/** The rotation period in seconds from `?rotate=`, or null when absent or not a sensible number. */
export function parseRotate(search: string): number | null {
  const raw = new URLSearchParams(search).get('rotate');
  if (raw === null || raw.trim() === '') return null;
  const s = Number(raw);
  if (!Number.isFinite(s) || s < ROTATE_MIN_S || s > ROTATE_MAX_S) return null;
  return Math.round(s);
}

export interface RotationClock {
  now(): number;
  setInterval(fn: () => void, ms: number): unknown;
  clearInterval(handle: unknown): void;
}

const SYSTEM_CLOCK: RotationClock = {
  now: () => Date.now(),
  setInterval: (fn, ms) => setInterval(fn, ms),
  clearInterval: (h) => clearInterval(h as ReturnType<typeof setInterval>),
};

export class ViewRotation {
  view = $state<WallView>('overview');
  /** When the next automatic switch happens (epoch ms); null when not rotating. */
  nextAt = $state<number | null>(null);
  now = $state(0);
  readonly periodMs: number | null;
  #timer: unknown = undefined;

  /** `periodS` null = no automatic rotation (manual switching still works). */
  constructor(
    periodS: number | null,
    private readonly clock: RotationClock = SYSTEM_CLOCK,
  ) {
    this.periodMs = periodS === null ? null : periodS * 1000;
    this.now = clock.now();
  }

  get rotating(): boolean {
    return this.#timer !== undefined;
  }

  /** Whole seconds until the next switch (for the indicator); null when not rotating. */
  get remainingS(): number | null {
    return this.nextAt === null ? null : Math.max(0, Math.ceil((this.nextAt - this.now) / 1000));
  }

  get nextView(): WallView {
    return WALL_VIEWS[(WALL_VIEWS.indexOf(this.view) + 1) % WALL_VIEWS.length]!;
  }

  start(): void {
    if (this.periodMs === null || this.#timer !== undefined) return;
    this.now = this.clock.now();
    this.nextAt = this.now + this.periodMs;
    // Four ticks a second keep the countdown within a quarter second of the truth.
    this.#timer = this.clock.setInterval(() => this.#tick(), 250);
  }

  stop(): void {
    if (this.#timer !== undefined) this.clock.clearInterval(this.#timer);
    this.#timer = undefined;
    this.nextAt = null;
  }

  /** Switches by `dir` views (1 = next, −1 = previous), restarting the countdown. */
  step(dir: 1 | -1): void {
    const n = WALL_VIEWS.length;
    this.view = WALL_VIEWS[(WALL_VIEWS.indexOf(this.view) + dir + n) % n]!;
    this.now = this.clock.now();
    if (this.#timer !== undefined && this.periodMs !== null) this.nextAt = this.now + this.periodMs;
  }

  #tick(): void {
    this.now = this.clock.now();
    if (this.nextAt !== null && this.now >= this.nextAt) this.step(1);
  }
}
