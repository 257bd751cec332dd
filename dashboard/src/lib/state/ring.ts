/**
 * A fixed-capacity ring buffer. Pushing beyond capacity overwrites the oldest item, so memory
 * stays constant however long the wall runs.
 */
export class Ring<T> {
  readonly capacity: number;
  #items: (T | undefined)[];
  /** Index where the next item goes. */
  #head = 0;
  #size = 0;

  constructor(capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`ring capacity must be a positive integer, got ${capacity}`);
    this.capacity = capacity;
    this.#items = new Array<T | undefined>(capacity);
  }

  get size(): number {
    return this.#size;
  }

  push(item: T): void {
    this.#items[this.#head] = item;
    this.#head = (this.#head + 1) % this.capacity;
    if (this.#size < this.capacity) this.#size++;
  }

  /** The oldest item still held, or undefined when empty. */
  oldest(): T | undefined {
    if (this.#size === 0) return undefined;
    return this.#items[(this.#head - this.#size + this.capacity) % this.capacity];
  }

  clear(): void {
    this.#items = new Array<T | undefined>(this.capacity);
    this.#head = 0;
    this.#size = 0;
  }

  /** Items newest first. */
  newestFirst(limit = this.#size): T[] {
    const n = Math.min(limit, this.#size);
    const out: T[] = new Array<T>(n);
    for (let i = 0; i < n; i++) {
      out[i] = this.#items[(this.#head - 1 - i + this.capacity * 2) % this.capacity] as T;
    }
    return out;
  }
}

/** A bounded set: remembers the last `capacity` keys (used to drop duplicate warnings). */
export class RecentKeys {
  #ring: Ring<string>;
  #set = new Set<string>();

  constructor(capacity: number) {
    this.#ring = new Ring<string>(capacity);
  }

  get size(): number {
    return this.#set.size;
  }

  has(key: string): boolean {
    return this.#set.has(key);
  }

  /** Adds a key; returns false if it was already present. */
  add(key: string): boolean {
    if (this.#set.has(key)) return false;
    if (this.#ring.size === this.#ring.capacity) {
      const oldest = this.#ring.oldest();
      if (oldest !== undefined) this.#set.delete(oldest);
    }
    this.#ring.push(key);
    this.#set.add(key);
    return true;
  }

  clear(): void {
    this.#ring.clear();
    this.#set.clear();
  }
}
