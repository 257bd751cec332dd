/**
 * Expiry of the memory rule states' keys and slots, the way Redis expires the keys of the hub's
 * rule state: every write to a key sets `expiresAt = clock() + ttl` (Redis: PEXPIRE after the
 * write), and a sweep drops whatever has `expiresAt <= now`.
 *
 * Design note
 * -----------
 * Two costs matter: a write is on the states' hot path, and a sweep runs every few seconds over
 * millions of keys of which few have expired. So: one binary min-heap per state with a LAZY key.
 * Every tracked key or slot has exactly one heap entry, found through its `xH` field (the entry's
 * index), and two times:
 *
 *   node.xAt  the node's expiry — what every write updates, on the node the write already holds;
 *   pos[i]    the heap key, a lower bound of xAt — the expiry when the entry was last placed,
 *             in a typed array (unboxed, invisible to the garbage collector).
 *
 * A write stores xAt and nothing else (no sift, no other memory touched) unless the new expiry is
 * below the old one — the clock went back, or a shorter TTL — and below pos[i]: then it lowers
 * pos[i] and sifts the entry up, so `pos <= xAt` always holds. A sweep pops while the root's
 * pos <= now: a root with xAt <= now has expired and is dropped; otherwise the node was written
 * since it was placed, and its entry is re-keyed to pos = xAt and sifted down. Every node with
 * xAt <= now has pos <= now, so nothing due is missed, and a sweep stops at the first root not
 * due: O(1) when nothing expired; O(log n) per dropped node plus, amortized, one re-key per node
 * and TTL period (a key written continuously is looked at once per TTL, not once per write).
 * A new node is appended; its expiry is about the latest, so the sift-up is one comparison.
 *
 * Rejected: a linked list per TTL kept in expiry order (a write unlinks the node, touching its two
 * neighbours: two cache misses per write on a large state); the expiry in a parallel array
 * instead of on the node (one more cache miss per write: measured ~+0.2 µs per record in the
 * engine bench); time buckets (the partially due bucket is rescanned at every sweep, and exactness
 * needs the bucket to be small, so their number grows with the longest TTL); a full scan.
 *
 * Nothing expires by itself: a key past its expiry answers as before until a sweep drops it, so
 * answers never depend on when a call ran — only sweeps, at the time their caller passes, change
 * what is held.
 */

/** A key or slot that expires. The memory states' entries carry these fields. */
export interface Expiring {
  /** Index of its entry in its state's expiry heap; -1 when untracked. */
  xH: number;
  /**
   * When it expires (clock ms), while tracked. Create nodes with NaN here: a double from the
   * start, so the engine stores it in place (a number field first holding a small integer would
   * change representation on the first write).
   */
  xAt: number;
}

/**
 * The wall clock of one rule state, shared by its four parts. `pinned` freezes it for the writes
 * of one applyStateOps() call, as Redis freezes time for the duration of a script (every key a
 * batch script writes gets its expiry from the same instant) — and one clock read per batch
 * instead of one per write.
 */
export class ExpiryClock {
  pinned: number | undefined = undefined;
  constructor(readonly read: () => number) {}
  now(): number {
    const p = this.pinned;
    return p !== undefined ? p : this.read();
  }
}

/** The expiry heap of one state (window, interval, fingerprint or sequence). */
export class ExpiryHeap<T extends Expiring> {
  // Entry i is (nodes[i], pos[i]); pos grows by doubling.
  /** Heap keys: a lower bound of the node's xAt (see the design note). */
  private pos = new Float64Array(64);
  private nodes: T[] = [];
  /** Entries [0, ordered) are in heap order; load() appends beyond it until flushLoad(). */
  private ordered = 0;

  constructor(readonly clock: ExpiryClock) {}

  /** A write to `e`: it now expires `ttl` ms after the clock's now. */
  touch(e: T, ttl: number): void {
    const t = this.clock.now() + ttl;
    const i = e.xH;
    if (i < 0) {
      // A new node (most writes in a stream of fresh people, vehicles, photos): appended, and
      // with the latest expiry it is already in heap order — the sift-up is only a comparison.
      const n = this.append(e, t);
      if (n > 0 && this.pos[(n - 1) >>> 1]! > t) this.up(n);
      this.ordered = n + 1;
      return;
    }
    // Below its heap key only if below its previous expiry (pos <= xAt): the common write does
    // not read the heap.
    if (t < e.xAt && t < this.pos[i]!) {
      e.xAt = t;
      this.pos[i] = t;
      this.up(i);
      return;
    }
    e.xAt = t;
  }

  /**
   * Drops, through `drop` (which removes the node from its state), every node whose expiry is at
   * or before `now`. Returns how many.
   */
  sweep(now: number, drop: (e: T) => void): number {
    let n = 0;
    while (this.nodes.length > 0 && this.pos[0]! <= now) {
      const e = this.nodes[0]!;
      if (e.xAt <= now) {
        this.removeRoot();
        drop(e);
        n++;
      } else {
        // Written since it was placed: re-key it to its expiry.
        this.pos[0] = e.xAt;
        this.down(0);
      }
    }
    return n;
  }

  /** An imported node with its stored expiry; put in heap order by flushLoad(). */
  load(e: T, expiresAt: number): void {
    this.append(e, expiresAt);
  }

  /**
   * Restores the heap order after loads. A snapshot may be imported in many parts, so the cost
   * follows the part: k entries loaded onto n ordered ones are sifted up one by one (O(k log n))
   * unless rebuilding the whole heap bottom-up (O(n + k)) is cheaper.
   */
  flushLoad(): void {
    const n = this.nodes.length;
    const from = this.ordered;
    if (from === n) return;
    this.ordered = n;
    if ((n - from) * Math.log2(n + 1) < n) {
      for (let i = from; i < n; i++) this.up(i);
    } else {
      for (let i = (n >>> 1) - 1; i >= 0; i--) this.down(i);
    }
  }

  clear(): void {
    for (const e of this.nodes) e.xH = -1;
    this.pos = new Float64Array(64);
    this.nodes = [];
    this.ordered = 0;
  }

  /** Appends `e` expiring at `t` as the last entry (not yet sifted); returns its index. */
  private append(e: T, t: number): number {
    const i = this.nodes.length;
    if (i === this.pos.length) {
      const pos = new Float64Array(i * 2);
      pos.set(this.pos);
      this.pos = pos;
    }
    this.nodes.push(e);
    this.pos[i] = t;
    e.xAt = t;
    e.xH = i;
    return i;
  }

  private removeRoot(): void {
    const { pos, nodes } = this;
    nodes[0]!.xH = -1;
    const last = nodes.length - 1;
    const lastNode = nodes.pop()!;
    this.ordered = last;
    if (last === 0) return;
    nodes[0] = lastNode;
    pos[0] = pos[last]!;
    lastNode.xH = 0;
    this.down(0);
  }

  private up(i: number): void {
    const { pos, nodes } = this;
    const p = pos[i]!;
    const e = nodes[i]!;
    while (i > 0) {
      const parent = (i - 1) >>> 1;
      if (pos[parent]! <= p) break;
      pos[i] = pos[parent]!;
      const moved = nodes[parent]!;
      nodes[i] = moved;
      moved.xH = i;
      i = parent;
    }
    pos[i] = p;
    nodes[i] = e;
    e.xH = i;
  }

  private down(i: number): void {
    const { pos, nodes } = this;
    const n = nodes.length;
    const p = pos[i]!;
    const e = nodes[i]!;
    for (;;) {
      let c = 2 * i + 1;
      if (c >= n) break;
      if (c + 1 < n && pos[c + 1]! < pos[c]!) c++;
      if (pos[c]! >= p) break;
      pos[i] = pos[c]!;
      const moved = nodes[c]!;
      nodes[i] = moved;
      moved.xH = i;
      i = c;
    }
    pos[i] = p;
    nodes[i] = e;
    e.xH = i;
  }
}

/** Redis's PEXPIRE of the interval, fingerprint and sequence scripts: retainMs rounded up, at least 1. */
export const retainTtl = (retainMs: number): number => Math.max(1, Math.ceil(retainMs));

/** The window state's PEXPIRE when no windowRetainBeyondMs is set: windowMs plus a day. */
export const WINDOW_GRACE_MS = 86_400_000;
