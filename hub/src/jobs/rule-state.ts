/**
 * Redis implementations of the interval, fingerprint and sequence rule states (contracts in
 * rules/src/engine/types.ts; exact in-memory references in rules/src/engine/*-state.ts), plus
 * read-only "peek" variants of all four states for the synchronous hold path.
 *
 * Design note
 * -----------
 * One Lua script per call, so every call is atomic per key and concurrent workers never race.
 * All keys of one call share a Redis Cluster hash tag (`{<key>}`) — claimMany() too: it claims
 * all of a record's fingerprints under one key in one script, each exactly as claim() would.
 *
 *   interval     <ns>:iv:{k}   hash  id → rec(member, start, end, answer…)
 *                <ns>:ive:{k}  zset  id scored by end (candidates: end > start)
 *                <ns>:ivm:{k}  string: largest start recorded (retention horizon)
 *                <ns>:ivn:{k}  zset  member scored by the latest end of its recorded intervals
 *   fingerprint  <ns>:fp:{k}:f   zset  rec(id, owner) scored by at
 *                <ns>:fpa:{k}:f  hash  id → rec(at, answer…)   (answers are remembered per id)
 *                <ns>:fpn:{k}:f  string: newest at
 *   sequence     <ns>:sq:{k}:e   zset  id scored by at (ZADD NX: the first time of an id is kept)
 *                <ns>:sqa:{k}:e  hash  asker id → rec(at[, id, at])  (null answers have one field)
 *                <ns>:sqz:{k}:e  zset  asker id scored by the asker's at (to prune answers)
 *                <ns>:sqn:{k}:e  string: newest at over records and answers
 *
 * Values are length-prefixed records (`<len>:<bytes>` repeated), so ids, members and owners may
 * hold any character. Times travel as the caller's decimal strings and come back as Redis score
 * strings or `%.17g`, both of which JavaScript's Number() parses back to the same double.
 * Ties on ids are broken by byte order in Lua (UTF-8 byte order = code-point order, which equals
 * the reference implementation's UTF-16 code-unit order for every id outside the surrogate
 * range; ids here are ASCII). Lua's `<` on strings is locale-dependent, so it is not used.
 *
 * Each script follows its reference step by step, including the order "compute the answer →
 * record → prune" and which calls move the retention horizon (a known id neither records nor
 * prunes), so a replay of any call sequence gives the same answers as the memory state
 * (hub/test/rule-state.test.ts checks this on random sequences with re-deliveries).
 *
 * The interval index ivn answers "does another member have an interval ending after my start?"
 * in O(log n): when none does, overlap() needs no scan, so a key whose live intervals nearly all
 * belong to the caller's member costs the same whatever their number. It holds exactly the
 * members with a live interval, because pruning drops intervals by end (all ends <= horizon
 * go, so a member whose latest end is past the horizon keeps that interval). Keys written
 * before ivn existed have none; the first write rebuilds it from the intervals, and a peek
 * scans until then. The index assumes every writer maintains it: writers running an older
 * script against the same keys (a rolling upgrade) must be stopped first.
 *
 * Peek mode (write = 0) computes exactly the answer a write call would give at this moment —
 * the stored answer for a known id — and writes nothing. The hold path (hub/src/decisions/)
 * uses it: a decision is advisory, the real record arrives later through ingest.
 * Keys expire `retainMs` (rounded up) after their last write, as the contract allows.
 */
import type { Redis } from 'ioredis';
import type {
  FingerprintMatch,
  FingerprintState,
  IntervalConflict,
  IntervalState,
  SequenceMatch,
  SequenceState,
  StateBatcher,
  StateOp,
  WindowState,
} from '@jianguan/rules';

const LUA_COMMON = `
local function rec(t)
  local out = {}
  for i = 1, #t do
    local s = tostring(t[i])
    out[#out + 1] = #s .. ':' .. s
  end
  return table.concat(out)
end
local function unrec(s)
  local t = {}
  local i = 1
  while i <= #s do
    local c = string.find(s, ':', i, true)
    local n = tonumber(string.sub(s, i, c - 1))
    t[#t + 1] = string.sub(s, c + 1, c + n)
    i = c + 1 + n
  end
  return t
end
local function num(x) return string.format('%.17g', x) end
local function lt(a, b)
  local n = math.min(#a, #b)
  for i = 1, n do
    local x, y = string.byte(a, i), string.byte(b, i)
    if x ~= y then return x < y end
  end
  return #a < #b
end
local function hdel_all(key, ids)
  for i = 1, #ids, 500 do
    redis.call('HDEL', key, unpack(ids, i, math.min(i + 499, #ids)))
  end
end
`;

// KEYS: iv, ive, ivm, ivn. ARGV: id, member, start, end, retainMs, write (1|0), expireMs.
// Returns {overlapMs, otherId, otherMember, otherStart, otherEnd} ('' fields when no overlap).
const INTERVAL_BODY = `
local id, member = ARGV[1], ARGV[2]
local s, e = tonumber(ARGV[3]), tonumber(ARGV[4])
local retain = tonumber(ARGV[5])
local write = ARGV[6] == '1'
local known = redis.call('HGET', KEYS[1], id)
if known then
  local r = unrec(known)
  return {r[4], r[5], r[6], r[7], r[8]}
end
-- ivn (member -> latest end among its live intervals) is missing only for state written before
-- it existed: rebuild it once from the intervals (a peek may not write, so it scans instead).
local indexed = redis.call('EXISTS', KEYS[4]) == 1
if not indexed and write then
  local all = redis.call('ZRANGE', KEYS[2], 0, -1, 'WITHSCORES')
  for i = 1, #all, 1000 do
    local ids, ends = {}, {}
    for j = i, math.min(i + 998, #all), 2 do
      ids[#ids + 1] = all[j]
      ends[#ends + 1] = all[j + 1]
    end
    local recs = redis.call('HMGET', KEYS[1], unpack(ids))
    for j = 1, #ids do
      if recs[j] then redis.call('ZADD', KEYS[4], 'GT', ends[j], unrec(recs[j])[1]) end
    end
  end
  indexed = true
end
-- A candidate must end after s. When no other member has anything ending after s, the answer
-- is "no overlap" without reading a single interval: this keeps a key whose intervals are
-- nearly all one member's (an examiner at one venue) from costing a scan of all of them.
local scan = true
if indexed then
  local others = redis.call('ZCOUNT', KEYS[4], '(' .. ARGV[3], '+inf')
  local own = redis.call('ZSCORE', KEYS[4], member)
  if own and tonumber(own) > s then others = others - 1 end
  scan = others > 0
end
local best, bestMs, bestRec = nil, 0, nil
if scan then
  -- A record starts with its member field, so the caller's own intervals are recognised by
  -- prefix and skipped without being parsed.
  local mine = #member .. ':' .. member
  local cands = redis.call('ZRANGEBYSCORE', KEYS[2], '(' .. ARGV[3], '+inf')
  for i = 1, #cands, 500 do
    local chunk = {unpack(cands, i, math.min(i + 499, #cands))}
    local recs = redis.call('HMGET', KEYS[1], unpack(chunk))
    for j = 1, #chunk do
      local raw = recs[j]
      if raw and string.sub(raw, 1, #mine) ~= mine then
        local r = unrec(raw)
        local es, ee = tonumber(r[2]), tonumber(r[3])
        if r[1] ~= member and es < e and s < ee then
          local ms = math.min(e, ee) - math.max(s, es)
          local cid = chunk[j]
          if ms > bestMs or (ms == bestMs and best ~= nil and (es < tonumber(bestRec[2]) or (es == tonumber(bestRec[2]) and lt(cid, best)))) then
            best, bestMs, bestRec = cid, ms, r
          end
        end
      end
    end
  end
end
local answer
if best then
  answer = {num(bestMs), best, bestRec[1], bestRec[2], bestRec[3]}
else
  answer = {'0', '', '', '', ''}
end
if not write then return answer end
redis.call('HSET', KEYS[1], id, rec({member, ARGV[3], ARGV[4], answer[1], answer[2], answer[3], answer[4], answer[5]}))
redis.call('ZADD', KEYS[2], ARGV[4], id)
redis.call('ZADD', KEYS[4], 'GT', ARGV[4], member)
local maxStart = tonumber(redis.call('GET', KEYS[3]) or '')
if maxStart == nil or s > maxStart then
  maxStart = s
  redis.call('SET', KEYS[3], ARGV[3])
end
local horizon = num(maxStart - retain)
local old = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', horizon)
if #old > 0 then
  hdel_all(KEYS[1], old)
  redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', horizon)
end
-- Every interval ending at or before the horizon is gone, so a member whose latest end is
-- there has none left, and every other member keeps its latest interval: ivn stays exact.
redis.call('ZREMRANGEBYSCORE', KEYS[4], '-inf', horizon)
for i = 1, 4 do redis.call('PEXPIRE', KEYS[i], ARGV[7]) end
return answer
`;

// KEYS: fp, fpa, fpn of each fingerprint in turn (claimMany: several, claim: one).
// ARGV: owner, id, at, windowMs, retainMs, write (1|0), expireMs.
// Returns one {others, firstOwner, firstId, firstAt} per fingerprint ('' fields when others = 0).
const FINGERPRINT_BODY = `
local owner, id = ARGV[1], ARGV[2]
local at, w, retain = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local function claim(kf, ka, kn)
  local known = redis.call('HGET', ka, id)
  if known then
    local r = unrec(known)
    return {r[2], r[3], r[4], r[5]}
  end
  local cands = redis.call('ZRANGEBYSCORE', kf, '(' .. num(at - w), '(' .. num(at + w), 'WITHSCORES')
  local owners, others = {}, 0
  local fOwner, fId, fAt, fAtS = nil, nil, nil, nil
  for i = 1, #cands, 2 do
    local c = unrec(cands[i])
    local cid, cowner, cat = c[1], c[2], tonumber(cands[i + 1])
    if cowner ~= owner then
      if not owners[cowner] then
        owners[cowner] = true
        others = others + 1
      end
      if fAt == nil or cat < fAt or (cat == fAt and (lt(cowner, fOwner) or (cowner == fOwner and lt(cid, fId)))) then
        fOwner, fId, fAt, fAtS = cowner, cid, cat, cands[i + 1]
      end
    end
  end
  local answer
  if fAt ~= nil then
    answer = {tostring(others), fOwner, fId, fAtS}
  else
    answer = {'0', '', '', ''}
  end
  if ARGV[6] ~= '1' then return answer end
  redis.call('ZADD', kf, ARGV[3], rec({id, owner}))
  redis.call('HSET', ka, id, rec({ARGV[3], answer[1], answer[2], answer[3], answer[4]}))
  local newest = tonumber(redis.call('GET', kn) or '')
  if newest == nil or at > newest then
    newest = at
    redis.call('SET', kn, ARGV[3])
  end
  local horizon = num(newest - retain)
  local old = redis.call('ZRANGEBYSCORE', kf, '-inf', horizon)
  if #old > 0 then
    local ids = {}
    for i = 1, #old do ids[i] = unrec(old[i])[1] end
    hdel_all(ka, ids)
    redis.call('ZREMRANGEBYSCORE', kf, '-inf', horizon)
  end
  redis.call('PEXPIRE', kf, ARGV[7])
  redis.call('PEXPIRE', ka, ARGV[7])
  redis.call('PEXPIRE', kn, ARGV[7])
  return answer
end
local answers = {}
for k = 1, #KEYS, 3 do answers[#answers + 1] = claim(KEYS[k], KEYS[k + 1], KEYS[k + 2]) end
return answers
`;

// KEYS: sq, sqa, sqz, sqn.
// ARGV: op ('record' | 'latest'), id, at, windowMs ('' for record), retainMs, write (1|0), expireMs.
// record → 1. latest → {} (null) or {id, at}.
const SEQUENCE_BODY = `
local op, id = ARGV[1], ARGV[2]
local at, retain = tonumber(ARGV[3]), tonumber(ARGV[5])
local write = ARGV[6] == '1'
local function prune()
  local newest = tonumber(redis.call('GET', KEYS[4]) or '')
  if newest == nil or at > newest then
    newest = at
    redis.call('SET', KEYS[4], ARGV[3])
  end
  local horizon = num(newest - retain)
  redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', horizon)
  local old = redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', horizon)
  if #old > 0 then
    hdel_all(KEYS[2], old)
    redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', horizon)
  end
  for i = 1, 4 do redis.call('PEXPIRE', KEYS[i], ARGV[7]) end
end
if op == 'record' then
  if write then
    redis.call('ZADD', KEYS[1], 'NX', ARGV[3], id)
    prune()
  end
  return 1
end
local known = redis.call('HGET', KEYS[2], id)
if known then
  local r = unrec(known)
  if r[2] then return {r[2], r[3]} end
  return {}
end
local lo = '(' .. num(at - tonumber(ARGV[4]))
local best, bestAt, bestAtS = nil, nil, nil
local off, size = 0, 64
while true do
  local page = redis.call('ZREVRANGEBYSCORE', KEYS[1], ARGV[3], lo, 'WITHSCORES', 'LIMIT', off, size)
  local stop = #page < 2 * size
  for i = 1, #page, 2 do
    local m, sc = page[i], tonumber(page[i + 1])
    if bestAt ~= nil and sc < bestAt then
      stop = true
      break
    end
    if m ~= id then
      if bestAt == nil then
        best, bestAt, bestAtS = m, sc, page[i + 1]
      elseif lt(m, best) then
        best = m
      end
    end
  end
  if stop then break end
  off = off + size
end
local answer
if best then answer = {best, bestAtS} else answer = {} end
if write then
  if best then
    redis.call('HSET', KEYS[2], id, rec({ARGV[3], best, bestAtS}))
  else
    redis.call('HSET', KEYS[2], id, rec({ARGV[3]}))
  end
  redis.call('ZADD', KEYS[3], ARGV[3], id)
  prune()
end
return answer
`;

// The window state's observe() (jobs/window-state.ts). KEYS: rs. ARGV: member, at (ms),
// windowMs, retainMs. ZADD GT keeps the latest time for a member (adds new members as usual).
// Entries older than the longest window plus a day of grace for late records are trimmed; the
// key expires when idle.
export const OBSERVE_BODY = `
redis.call('ZADD', KEYS[1], 'GT', ARGV[2], ARGV[1])
local at = tonumber(ARGV[2])
local win = tonumber(ARGV[3])
local retain = tonumber(ARGV[4])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', '(' .. (at - retain))
redis.call('PEXPIRE', KEYS[1], retain)
return redis.call('ZCOUNT', KEYS[1], '(' .. (at - win), at)
`;

// Every state call of an evaluated batch in one script (see createRedisStateBatcher). Each
// single-call script body above becomes a function whose parameters are named KEYS and ARGV,
// so the body runs unchanged on its own slice of the batch's keys and arguments.
// ARGV: n, then per operation: code (o|i|f|s), key count, argument count, the arguments.
// KEYS: every operation's keys, in order. Returns one reply per operation, in order.
const BATCH_LUA = `${LUA_COMMON}
local function op_observe(KEYS, ARGV)
${OBSERVE_BODY}
end
local function op_interval(KEYS, ARGV)
${INTERVAL_BODY}
end
local function op_fingerprint(KEYS, ARGV)
${FINGERPRINT_BODY}
end
local function op_sequence(KEYS, ARGV)
${SEQUENCE_BODY}
end
local n = tonumber(ARGV[1])
local out = {}
local ki, ai = 1, 2
for o = 1, n do
  local code, nk, na = ARGV[ai], tonumber(ARGV[ai + 1]), tonumber(ARGV[ai + 2])
  ai = ai + 3
  local k, a = {}, {}
  for j = 1, nk do k[j] = KEYS[ki + j - 1] end
  for j = 1, na do a[j] = ARGV[ai + j - 1] end
  ki, ai = ki + nk, ai + na
  if code == 'o' then out[o] = op_observe(k, a)
  elseif code == 'i' then out[o] = op_interval(k, a)
  elseif code == 'f' then out[o] = op_fingerprint(k, a)
  elseif code == 's' then out[o] = op_sequence(k, a)
  else return redis.error_reply('unknown state operation ' .. tostring(code)) end
end
return out
`;

const INTERVAL_LUA = LUA_COMMON + INTERVAL_BODY;
const FINGERPRINT_LUA = LUA_COMMON + FINGERPRINT_BODY;
const SEQUENCE_LUA = LUA_COMMON + SEQUENCE_BODY;

// The window state's observe() without the write (key layout of jobs/window-state.ts).
// KEYS: rs. ARGV: member, at, windowMs. The count observe() would return now: members in
// (at − w, at] with the caller's member at max(its time, at).
const WINDOW_PEEK_LUA = `${LUA_COMMON}
local at, w = tonumber(ARGV[2]), tonumber(ARGV[3])
local lo = at - w
local n = redis.call('ZCOUNT', KEYS[1], '(' .. num(lo), ARGV[2])
local cur = redis.call('ZSCORE', KEYS[1], ARGV[1])
if cur then
  local t = tonumber(cur)
  if t > lo and t <= at then n = n - 1 end
  if t <= at then n = n + 1 end
else
  n = n + 1
end
return n
`;

type Cmd<A extends unknown[]> = (...args: A) => Promise<unknown>;
type RedisWithRuleState = Redis & {
  jgInterval: Cmd<[string, string, string, string, string, string, string, string, string, string, string]>;
  jgFingerprint: (numKeys: number, ...args: string[]) => Promise<unknown>;
  jgSequence: Cmd<[string, string, string, string, string, string, string, string, string, string, string]>;
  jgWindowPeek: Cmd<[string, string, string, string]>;
  /** One array: key count, keys, arguments (ioredis flattens it; no spread of thousands of arguments). */
  jgStateBatch: (args: string[]) => Promise<unknown>;
};

function define(redis: Redis): RedisWithRuleState {
  const r = redis as RedisWithRuleState;
  if (typeof r.jgInterval !== 'function') {
    redis.defineCommand('jgInterval', { numberOfKeys: 4, lua: INTERVAL_LUA });
    // The number of keys varies (three per fingerprint): the caller passes it first.
    redis.defineCommand('jgFingerprint', { lua: FINGERPRINT_LUA });
    redis.defineCommand('jgSequence', { numberOfKeys: 4, lua: SEQUENCE_LUA });
    redis.defineCommand('jgWindowPeek', { numberOfKeys: 1, lua: WINDOW_PEEK_LUA });
    redis.defineCommand('jgStateBatch', { lua: BATCH_LUA });
  }
  return r;
}

const finite = (x: number): boolean => Number.isFinite(x);
const positive = (x: number): boolean => Number.isFinite(x) && x > 0;
const expireOf = (retainMs: number): string => String(Math.max(1, Math.ceil(retainMs)));

function strings(v: unknown): string[] {
  return Array.isArray(v) ? v.map((x) => String(x)) : [];
}

const DAY_MS = 86_400_000;

function checkClaim(at: number, windowMs: number, retainMs: number): void {
  if (!finite(at)) throw new RangeError(`claim: at must be a finite epoch ms, got ${at}`);
  if (!positive(windowMs)) throw new RangeError(`claim: windowMs must be > 0, got ${windowMs}`);
  if (!positive(retainMs)) throw new RangeError(`claim: retainMs must be > 0, got ${retainMs}`);
}
function checkOverlap(start: number, end: number, retainMs: number): void {
  if (!finite(start) || !finite(end) || end < start) throw new RangeError(`overlap: need finite start <= end, got [${start}, ${end})`);
  if (!positive(retainMs)) throw new RangeError(`overlap: retainMs must be > 0, got ${retainMs}`);
}
function checkSequence(at: number, retainMs: number, windowMs?: number): void {
  if (!finite(at)) throw new RangeError(`sequence: at must be a finite epoch ms, got ${at}`);
  if (!positive(retainMs)) throw new RangeError(`sequence: retainMs must be > 0, got ${retainMs}`);
  if (windowMs !== undefined && !positive(windowMs)) throw new RangeError(`sequence: windowMs must be > 0, got ${windowMs}`);
}

function parseConflict(reply: unknown): IntervalConflict {
  const a = strings(reply);
  const overlapMs = Number(a[0] ?? 0);
  if (!(overlapMs > 0)) return { overlapMs: 0 };
  return { overlapMs, other: { id: a[1] ?? '', member: a[2] ?? '', start: Number(a[3]), end: Number(a[4]) } };
}
function parseMatches(replies: unknown): FingerprintMatch[] {
  return (Array.isArray(replies) ? replies : []).map((reply: unknown): FingerprintMatch => {
    const a = strings(reply);
    const others = Number(a[0] ?? 0);
    if (!(others > 0)) return { others: 0 };
    return { others, first: { owner: a[1] ?? '', id: a[2] ?? '', at: Number(a[3]) } };
  });
}
function parseLatest(reply: unknown): SequenceMatch | null {
  const a = strings(reply);
  return a.length >= 2 ? { id: a[0]!, at: Number(a[1]) } : null;
}

const intervalKeys = (prefix: string, key: string): string[] => {
  const tag = `{${key}}`;
  return [`${prefix}:iv:${tag}`, `${prefix}:ive:${tag}`, `${prefix}:ivm:${tag}`, `${prefix}:ivn:${tag}`];
};
const fingerprintKeys = (prefix: string, key: string, fingerprints: readonly string[]): string[] =>
  fingerprints.flatMap((f) => {
    const tag = `{${key}}:${f}`;
    return [`${prefix}:fp:${tag}`, `${prefix}:fpa:${tag}`, `${prefix}:fpn:${tag}`];
  });
const sequenceKeys = (prefix: string, key: string, event: string): string[] => {
  const tag = `{${key}}:${event}`;
  return [`${prefix}:sq:${tag}`, `${prefix}:sqa:${tag}`, `${prefix}:sqz:${tag}`, `${prefix}:sqn:${tag}`];
};

/**
 * All state calls of a batch in one script: every operation is applied in order, each by the
 * same Lua as its single call (so each answer is what that call would have answered at that
 * point), the whole list atomically. One round trip and one script invocation per evaluated
 * batch instead of one per record and stateful rule.
 *
 * The keys of one batch span many hash tags, so the script needs a single Redis (or a
 * Sentinel-managed primary, as deploy/cluster uses), not Redis Cluster. A batch holds Redis
 * for the script's duration: with BullMQ batches of a few hundred records that is a few ms.
 */
export function createRedisStateBatcher(redis: Redis, prefix: string): StateBatcher {
  const r = define(redis);
  return {
    async run(ops: readonly StateOp[]): Promise<unknown[]> {
      const keys: string[] = [];
      const argv: string[] = [];
      // Index into the script's replies of each operation; -1 = answered here (no fingerprints).
      const slot: number[] = new Array(ops.length);
      let n = 0;
      const push = (code: string, k: readonly string[], a: readonly string[]) => {
        for (const x of k) keys.push(x);
        argv.push(code, String(k.length), String(a.length));
        for (const x of a) argv.push(x);
        return n++;
      };
      for (let i = 0; i < ops.length; i++) {
        const o = ops[i]!;
        switch (o.op) {
          case 'observe':
            // As createRedisWindowState().observe(): the numbers go over the wire as ioredis
            // would send them (String()).
            slot[i] = push('o', [`${prefix}:rs:${o.key}`], [o.member, String(o.at), String(o.windowMs), String(o.windowMs + DAY_MS)]);
            break;
          case 'overlap':
            checkOverlap(o.start, o.end, o.retainMs);
            slot[i] = push('i', intervalKeys(prefix, o.key), [o.id, o.member, String(o.start), String(o.end), String(o.retainMs), '1', expireOf(o.retainMs)]);
            break;
          case 'claim':
            checkClaim(o.at, o.windowMs, o.retainMs);
            slot[i] =
              o.fingerprints.length === 0
                ? -1
                : push('f', fingerprintKeys(prefix, o.key, o.fingerprints), [o.owner, o.id, String(o.at), String(o.windowMs), String(o.retainMs), '1', expireOf(o.retainMs)]);
            break;
          case 'record':
            checkSequence(o.at, o.retainMs);
            slot[i] = push('s', sequenceKeys(prefix, o.key, o.event), ['record', o.id, String(o.at), '', String(o.retainMs), '1', expireOf(o.retainMs)]);
            break;
          case 'latest':
            checkSequence(o.at, o.retainMs, o.windowMs);
            slot[i] = push('s', sequenceKeys(prefix, o.key, o.event), ['latest', o.id, String(o.at), String(o.windowMs), String(o.retainMs), '1', expireOf(o.retainMs)]);
            break;
        }
      }
      const replies = n === 0 ? [] : await r.jgStateBatch([String(keys.length), ...keys, String(n), ...argv]);
      if (!Array.isArray(replies) || replies.length !== n) throw new Error(`state batch: expected ${n} replies`);
      return ops.map((o, i) => {
        const s = slot[i]!;
        if (s < 0) return [];
        const reply: unknown = replies[s];
        switch (o.op) {
          case 'observe':
            return Number(reply);
          case 'overlap':
            return parseConflict(reply);
          case 'claim':
            return parseMatches(reply);
          case 'record':
            return undefined;
          case 'latest':
            return parseLatest(reply);
        }
      });
    },
  };
}

/** One batcher per connection and prefix, shared by the states written through them. */
const batchers = new WeakMap<Redis, Map<string, StateBatcher>>();
export function redisStateBatcher(redis: Redis, prefix: string): StateBatcher {
  let byPrefix = batchers.get(redis);
  if (!byPrefix) batchers.set(redis, (byPrefix = new Map()));
  let b = byPrefix.get(prefix);
  if (!b) byPrefix.set(prefix, (b = createRedisStateBatcher(redis, prefix)));
  return b;
}

export interface RedisRuleStates {
  intervals: IntervalState;
  fingerprints: FingerprintState;
  sequences: SequenceState;
}

export interface PeekRuleStates extends RedisRuleStates {
  /** observe() answers the count it would return; nothing is recorded. */
  state: WindowState;
}

function build(redis: Redis, prefix: string, write: boolean): RedisRuleStates {
  const r = define(redis);
  const w = write ? '1' : '0';
  // Writing states can be batched (RuleEngine.evaluateBatch); peeks are single calls on the
  // hold path and record nothing, so they have no batcher.
  const batcher = write ? { batcher: redisStateBatcher(redis, prefix) } : {};

  async function claimAll(key: string, fingerprints: readonly string[], owner: string, id: string, at: number, windowMs: number, retainMs: number): Promise<FingerprintMatch[]> {
    checkClaim(at, windowMs, retainMs);
    if (fingerprints.length === 0) return [];
    const keys = fingerprintKeys(prefix, key, fingerprints);
    return parseMatches(await r.jgFingerprint(keys.length, ...keys, owner, id, String(at), String(windowMs), String(retainMs), w, expireOf(retainMs)));
  }

  return {
    intervals: {
      ...batcher,
      async overlap(key, id, member, start, end, retainMs): Promise<IntervalConflict> {
        checkOverlap(start, end, retainMs);
        const [k1, k2, k3, k4] = intervalKeys(prefix, key) as [string, string, string, string];
        return parseConflict(await r.jgInterval(k1, k2, k3, k4, id, member, String(start), String(end), String(retainMs), w, expireOf(retainMs)));
      },
    },
    fingerprints: {
      ...batcher,
      async claim(key, fingerprint, owner, id, at, windowMs, retainMs): Promise<FingerprintMatch> {
        return (await claimAll(key, [fingerprint], owner, id, at, windowMs, retainMs))[0]!;
      },
      claimMany: (key, fingerprints, owner, id, at, windowMs, retainMs) => claimAll(key, fingerprints, owner, id, at, windowMs, retainMs),
    },
    sequences: {
      ...batcher,
      async record(key, event, id, at, retainMs): Promise<void> {
        checkSequence(at, retainMs);
        if (!write) return;
        const [k1, k2, k3, k4] = sequenceKeys(prefix, key, event) as [string, string, string, string];
        await r.jgSequence(k1, k2, k3, k4, 'record', id, String(at), '', String(retainMs), w, expireOf(retainMs));
      },
      async latest(key, event, id, at, windowMs, retainMs): Promise<SequenceMatch | null> {
        checkSequence(at, retainMs, windowMs);
        const [k1, k2, k3, k4] = sequenceKeys(prefix, key, event) as [string, string, string, string];
        return parseLatest(await r.jgSequence(k1, k2, k3, k4, 'latest', id, String(at), String(windowMs), String(retainMs), w, expireOf(retainMs)));
      },
    },
  };
}

/** The interval, fingerprint and sequence states the evaluation worker writes (prefix = JG_QUEUE_PREFIX). */
export function createRedisRuleStates(redis: Redis, prefix: string): RedisRuleStates {
  return build(redis, prefix, true);
}

/**
 * Read-only views of all four states (the window state included, over jobs/window-state.ts's
 * keys): every call answers what the writing state would answer now and records nothing.
 */
export function createPeekRuleStates(redis: Redis, prefix: string): PeekRuleStates {
  const r = define(redis);
  return {
    ...build(redis, prefix, false),
    state: {
      async observe(key, member, at, windowMs) {
        if (!finite(at)) throw new RangeError(`observe: at must be a finite epoch ms, got ${at}`);
        if (!positive(windowMs)) throw new RangeError(`observe: windowMs must be > 0, got ${windowMs}`);
        return Number(await r.jgWindowPeek(`${prefix}:rs:${key}`, member, String(at), String(windowMs)));
      },
    },
  };
}
