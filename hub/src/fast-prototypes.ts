/**
 * The built-in prototypes kept in V8's fast mode — imported first by every entry of the hub
 * (server.ts, app.ts, cli.ts and each evaluation thread, jobs/eval-thread.ts: built-ins belong to
 * one isolate, so each thread needs its own).
 *
 * Why. ioredis defines `class VerbatimString extends String` (its RESP3 decoder, loaded with
 * every client). When a class extends a built-in, V8 puts the built-in's prototype into
 * dictionary mode ("setup mode", cheap to add methods to) and turns it fast again only when an
 * inline cache on an *object* looks a property up through it. Method calls on string primitives
 * — `s.charCodeAt(i)`, `s.slice(…)`, `s.startsWith(…)` — never do that, so once ioredis was loaded
 * String.prototype stayed a dictionary for the life of the process: in optimised code every
 * such call stopped being inlined and became a call of V8's generic load builtin with a
 * dictionary lookup. At saturation that builtin was about 4 % of the hub's samples (`perf`), and
 * the row encoder ran at half its speed (docs/benchmarks.md, "String.prototype as a dictionary").
 *
 * What. A property load through an object made on each prototype, repeated until V8 has given
 * the loading function its feedback (it does so only after a few calls): the load's cache miss
 * marks the prototype as one that must stay fast and makes it fast. The mark stays, so a class
 * that extends String afterwards no longer turns it into a dictionary either; on a prototype
 * already fast this only sets the mark. hub/test/fast-prototypes.test.ts checks the result with
 * V8's own `%HasFastProperties` in a child process.
 */

/**
 * The prototypes whose receivers are primitives. The ones objects inherit from (Array, Map,
 * Error…) stay fast when a class extends them (checked in Node 20), and a cache miss on any of
 * their objects would make them fast again; these have no object receiver on the hot path.
 */
const PROTOTYPES: readonly object[] = [String.prototype, Number.prototype, Boolean.prototype, Symbol.prototype, BigInt.prototype];

/** Calls per prototype: V8 allocates a function's feedback after a budget of executed bytecode; 16 sufficed in Node 20. */
const CALLS = 256;

function load(o: { toString: unknown }): unknown {
  return o.toString;
}

/** Makes (and marks) the prototypes fast; cheap (about a thousand property loads), idempotent. */
function keepBuiltinPrototypesFast(): void {
  for (const p of PROTOTYPES) {
    const o = Object.create(p) as { toString: unknown };
    for (let i = 0; i < CALLS; i++) load(o);
  }
}

keepBuiltinPrototypesFast();
