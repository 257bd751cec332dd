/**
 * Reading one snapshot entry of the memory rule states (memory-state.ts: exportRuleState /
 * importRuleState) with validation. Entries are flat arrays of primitives; each state module
 * writes and reads its own kind, field by field, through this cursor, so every malformed entry
 * fails with an Error that names the entry's kind, its key and the field that is wrong.
 */

export class EntryReader {
  private i: number;
  /** The entry's key (and fingerprint / event) once read: named in every error after that. */
  private name: readonly (readonly [string, string])[] | undefined = undefined;

  constructor(
    private readonly e: readonly unknown[],
    private readonly kind: string,
    start: number,
  ) {
    this.i = start;
  }

  fail(message: string): never {
    // Formatted only here: a valid entry (nearly all) costs no string building.
    const who = this.name === undefined ? '' : ` for ${this.name.map(([what, v]) => `${what} ${JSON.stringify(v)}`).join(', ')}`;
    throw new Error(`rule state import: malformed ${this.kind} entry${who}: ${message}`);
  }

  /** Names the entry in later errors, e.g. [['key', 'k'], ['event', 'e']] → `key "k", event "e"`. */
  named(name: readonly (readonly [string, string])[]): void {
    this.name = name;
  }

  more(): boolean {
    return this.i < this.e.length;
  }

  /** The next field, unread: lets a variable-width record choose its shape. */
  peek(): unknown {
    return this.e[this.i];
  }

  str(what: string): string {
    const v = this.e[this.i];
    if (typeof v !== 'string') this.fail(`${what} (field ${this.i}) must be a string, got ${show(v)}`);
    this.i++;
    return v;
  }

  num(what: string): number {
    const v = this.e[this.i];
    if (typeof v !== 'number' || !Number.isFinite(v)) this.fail(`${what} (field ${this.i}) must be a finite number, got ${show(v)}`);
    this.i++;
    return v;
  }

  /** A finite number, or null for +Infinity (JSON has no Infinity). */
  numOrInf(what: string): number {
    if (this.e[this.i] === null) {
      this.i++;
      return Infinity;
    }
    return this.num(what);
  }

  positive(what: string): number {
    const v = this.num(what);
    if (!(v > 0)) this.fail(`${what} must be > 0, got ${v}`);
    return v;
  }

  /** A non-negative integer below `limit`. */
  int(what: string, limit: number): number {
    const v = this.num(what);
    if (!(Number.isInteger(v) && v >= 0 && v < limit)) this.fail(`${what} must be an integer in [0, ${limit}), got ${v}`);
    return v;
  }

  null(): boolean {
    if (this.e[this.i] !== null) return false;
    this.i++;
    return true;
  }

  end(): void {
    if (this.i !== this.e.length) this.fail(`${this.e.length - this.i} unexpected trailing field(s) from field ${this.i}`);
  }
}

function show(v: unknown): string {
  if (v === undefined) return 'nothing (entry too short)';
  const s = JSON.stringify(v) ?? String(v);
  return s.length > 40 ? `${s.slice(0, 40)}…` : s;
}
