/**
 * # Collector security — design note
 *
 * Who may send, and whether what arrives is what the counter sealed. This file keeps identity,
 * enrolment, approval and the chain; held batches live in held.ts and presence and silence in
 * presence.ts, both driven from here (the facade the hub and the tests use).
 *
 * ## Identity and admission (事前备案 for devices)
 *
 * Every collector record lives in the `collectors` table: institution, counter, origin, status
 * (pending | approved | revoked), its Ed25519 public key (base64 SPKI DER) and, for static
 * collectors, the SHA-256 of its token.
 *
 *   - static (JG_COLLECTORS_FILE / config.collectors, used by the demo, tests and bench): approved
 *     from the start; authenticated by token AND key. A key is bound only by an administrator:
 *     either written into the credential (`publicKey`, the administrator who edits the file binds
 *     it) or approved — a static collector that presents an unbound key with a valid token and
 *     proof is filed as pending with that key (its batches held, as for an enrolment) until a
 *     system_admin approves it (POST /api/v1/collectors/:id/approve, optionally naming the
 *     fingerprint the device shows, so a thief's key cannot be approved by mistake). Never trust
 *     on first use: whoever has a copied token cannot bind their own key. Once a key is bound (or
 *     proposed) the token alone is never enough (COLLECTOR_KEY_MISMATCH). With
 *     JG_COLLECTOR_KEYS=required (the default) a token-only handshake is refused outright
 *     (COLLECTOR_KEY_REQUIRED); 'optional' lets a static collector with no key bound still send
 *     unsigned batches (migrating old installations only).
 *   - key rotation: revoke, then the device enrols again with its new key (pending until
 *     approved), or the administrator writes the new `publicKey` into the credential file
 *     (restart or reload of the file binds it; the chain starts afresh under the new key).
 *   - enrolled: an unknown collector id presenting a key, a proof and `enrol` {institution,
 *     counter} (or POST /api/v1/collectors/enrol) is recorded as pending. It may connect; its
 *     batches are verified and chained like anyone's, then HELD: stored whole in `held_batches`
 *     and acknowledged as durable, not evaluated. On approval they are evaluated in first_seq
 *     order before any newer batch of that collector.
 *   - revoked: refused at the handshake with COLLECTOR_REVOKED, its open sockets are closed and
 *     any batch in flight is answered COLLECTOR_REVOKED. Its key stays refused for good; the
 *     device re-filed with a new key (replaced PC, lost key file) enrols again and is pending
 *     until approved. A key can only change through revocation and re-filing.
 *
 * ## Abuse caps
 *
 *   - new enrolments per network address are rate limited (`allowEnrolment`, Redis-backed so
 *     replicas share it): ENROL_RATE_LIMITED;
 *   - a pending collector's held batches are capped in bytes (`heldQuotaBytes`, counted in the
 *     store that every replica shares): beyond it a batch is refused as retryable (HELD_QUOTA)
 *     and stays in the device's outbox until approval;
 *   - collector.tamper is raised at most once per collector per `tamperIntervalMs` (`throttle`):
 *     every forged batch is still refused, but a flood of them is one warning, not a hundred.
 *
 * ## Scope of what a collector reports
 *
 * A record must name the collector's own institution or one of its `reportsFor` institutions
 * (static credentials' config, or set by an administrator at approval) — `mayReportFor`.
 *
 * ## The chain (tamper evidence)
 *
 * Batch format and canonical bytes: see hub/protocol/src/index.ts (canonicalBatchHeader). For a collector
 * with a registered key, each batch must carry batchSeq, prevHash and a signature that verifies
 * over the canonical header *with the records digest recomputed from the records received*.
 *   - signature missing or wrong (forged, or a record edited after signing) → refused,
 *     BATCH_SIGNATURE_INVALID (not retryable), collector.tamper raised, nothing stored;
 *   - batchSeq = tip + 1 and prevHash = tip hash → accepted, the chain advances;
 *   - batchSeq > tip + 1 → accepted, the chain advances, collector.gap raised (batches sealed
 *     by the collector never arrived);
 *   - batchSeq ≤ tip with the hash accepted for that seq → a re-send (lost ack): processed again
 *     (storage is idempotent), the chain does not move;
 *   - anything else (same seq, other content; or prevHash not the tip) → refused,
 *     BATCH_CHAIN_CONFLICT with the hub's tip, collector.tamper raised. The collector re-seals
 *     its records on top of that tip, so data still flows and the evidence stays.
 * The chain is per (collector, key fingerprint): a new key starts a new chain.
 *
 * ## Ordering and durability
 *
 * All batches of one collector go through `exclusive(collectorId)`: verify → chain check →
 * process (store / dead-letter / hold) and, at the same time, the chain row → ack once both are
 * durable. Writing the chain row alongside rather than after the batch saves an insert's wait
 * per batch, and is safe because the chain only decides *whether* a batch is accepted, never
 * whether it was stored: a batch whose storing failed is re-sent by its collector unchanged,
 * finds its own hash at its seq (a replay) and is processed again (storage is idempotent); a
 * chain row that failed makes the ack fail too, and the re-send finds the tip where it was and
 * advances it. Gap warnings are raised before the chain row (so a failure in between re-raises
 * the same deterministic id, never loses it). The tip is cached in memory and
 * re-read from the store whenever a batch does not fit the cache (another hub replica may have
 * moved it).
 *
 * ## Silence
 *
 * A periodic check (collectorCheckIntervalMs) treats a connected collector as seen now and saves
 * last-seen times; an approved collector not seen for `silentMinutes` of *working* time (rules'
 * work calendar) raises collector.silent once per episode (the episode is its last sign of life;
 * time the hub itself was down does not count).
 */
import crypto from 'node:crypto';
import type { FastifyBaseLogger } from 'fastify';
import type { Warning, WorkCalendar } from '@jianguan/rules';
import { HubError, errorMessage, isHubError } from '../errors.js';
import {
  GENESIS_HASH,
  type Batch,
  type ChainTip,
  type CollectorAuth,
  type CollectorEnrol,
  type CollectorInfo,
  type CollectorStatusName,
} from '../protocol/index.js';
import type { Registry } from '../registry/registry.js';
import type { Store } from '../store/store.js';
import { keyFingerprint, parsePublicKey, sha256Hex, verifyAuthProof, verifyBatch } from './keys.js';
import {
  hashAt,
  heldCounts,
  insertChainRow,
  loadCollectorRecords,
  loadSeen,
  loadTip,
  loadTips,
  saveCollectorRecords,
  type ChainRow,
  type CollectorRecord,
} from './repo.js';
import { CollectorWarnings, gapWarning, tamperWarning } from './warnings.js';
import type { HubPseudonyms } from '../pseudonyms.js';
import { emit } from '../telemetry/events.js';
import { CollectorPresence } from './presence.js';
import { HeldBatches, type ProcessedAck } from './held.js';

export type { ProcessedAck } from './held.js';

export interface CollectorServiceDeps {
  store: Store;
  registry: Registry;
  log: FastifyBaseLogger;
  calendar: WorkCalendar;
  /** Hands new warnings to the wall (WallBroadcaster.published). */
  publish: (warnings: readonly Warning[]) => void;
  /** Ingest's record path: validate, dead-letter, evaluate, store. Used to release held batches. */
  process: (collectorId: string, batch: Batch) => Promise<ProcessedAck>;
  /** Working minutes of silence before collector.silent. */
  silentMinutes: number;
  /** Period of the silence check; 0 = no timer (tests call checkSilence themselves). */
  checkIntervalMs: number;
  /**
   * OPTIONAL. Marks a handshake proof as used; resolves false when it was used before. Backed by
   * Redis so that all replicas share it: a proof captured on the wire (no TLS) cannot open a
   * second connection within its ±5 min validity. Collectors make a fresh proof per attempt.
   */
  firstUse?: (proof: string) => Promise<boolean>;
  /**
   * Caps on collectors waiting for approval, so a flood of enrolments (the endpoint is public:
   * any key can prove itself) cannot grow the pending list without bound. Defaults 200 and 20.
   */
  maxPending?: number;
  maxPendingPerInstitution?: number;
  /**
   * OPTIONAL. Counts one new enrolment from `address`; resolves false when that address is over
   * its limit. Absent = unlimited.
   */
  allowEnrolment?: (address: string) => Promise<boolean>;
  /** OPTIONAL. True at most once per `ms` for `key` (shared by replicas). Absent = always true. */
  throttle?: (key: string, ms: number) => Promise<boolean>;
  /** Bytes of held batches a pending collector may accumulate (as stored, sealed). @defaultValue 4 MiB */
  heldQuotaBytes?: number;
  /**
   * Seals held batches at rest (pseudonyms.ts): they keep the collector-form hashes a stolen
   * counter key reverses, and are opened only to be evaluated on approval.
   */
  atRest: Pick<HubPseudonyms, 'sealAtRest' | 'openAtRest'>;
  /** At most one collector.tamper per collector per this interval. @defaultValue 10 min */
  tamperIntervalMs?: number;
  /** JG_COLLECTOR_KEYS: 'required' refuses token-only handshakes. @defaultValue 'required' */
  keys?: 'required' | 'optional';
  /**
   * OPTIONAL. Whether another hub replica has this collector connected (cluster-presence.ts):
   * the collectors list shows it online and the silence check leaves it alone. @defaultValue never
   */
  connectedElsewhere?: (collectorId: string) => boolean;
  /**
   * OPTIONAL. Tells the other hub replicas that collector records changed (enrolled, approved,
   * revoked, re-filed); each of them then calls `recordsChanged()`. Must not throw.
   */
  announce?: () => void;
  now?: () => number;
}

/** What a verified batch may do, decided under the collector's lock. */
export interface Admission {
  record: CollectorRecord;
  hold: boolean;
  /** Chain row to write once the batch is durable; absent for re-sends and keyless collectors. */
  advance?: ChainRow;
  gap?: { expected: number; got: number };
}

export interface StaticCredential {
  collectorId: string;
  institutionId: string;
  token: string;
  reportsFor?: string[] | undefined;
  /** Bound by the administrator who wrote the credential (base64 SPKI DER). */
  publicKey?: string | undefined;
}

type ChainError = HubError & { chain?: ChainTip | null };

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

function tokenMatches(token: string, sha: string): boolean {
  if (!sha) return false;
  const a = Buffer.from(sha256Hex(token), 'hex');
  const b = Buffer.from(sha, 'hex');
  return a.length === b.length && crypto.timingSafeEqual(a, b);
}


export class CollectorService {
  private records = new Map<string, CollectorRecord>();
  /** Chain tips by `${collectorId}|${keyFingerprint}`. */
  private readonly tips = new Map<string, ChainTip>();
  private readonly keys = new Map<string, crypto.KeyObject>();
  private readonly locks = new Map<string, Promise<unknown>>();
  /** Sockets, last-seen times and collector.silent (presence.ts). */
  private readonly presence: CollectorPresence;
  /** Pending collectors' batches, evaluated on approval (held.ts). */
  private readonly held: HeldBatches;
  private identityChain: Promise<unknown> = Promise.resolve();
  /** Reloads of records (recordsChanged) one after another; the one not started yet, if any. */
  private reloadChain: Promise<void> = Promise.resolve();
  private reloadQueued: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private checking: Promise<void> | undefined;
  private disconnector: (collectorId: string, reason: string) => void = () => {};
  readonly warnings: CollectorWarnings;
  readonly startedAt: number;

  private constructor(private readonly deps: CollectorServiceDeps) {
    this.warnings = new CollectorWarnings({ store: deps.store, registry: deps.registry, log: deps.log, publish: deps.publish });
    this.startedAt = this.now();
    const now = () => this.now();
    this.presence = new CollectorPresence({ store: deps.store, registry: deps.registry, calendar: deps.calendar, warnings: this.warnings, silentMinutes: deps.silentMinutes, startedAt: this.startedAt, now, ...(deps.connectedElsewhere ? { elsewhere: deps.connectedElsewhere } : {}) });
    this.held = new HeldBatches({ store: deps.store, log: deps.log, process: deps.process, atRest: deps.atRest, ...(deps.heldQuotaBytes !== undefined ? { quotaBytes: deps.heldQuotaBytes } : {}), now });
  }

  static async create(deps: CollectorServiceDeps): Promise<CollectorService> {
    const s = new CollectorService(deps);
    await s.reload();
    if (deps.checkIntervalMs > 0) {
      s.timer = setInterval(() => void s.tick(), deps.checkIntervalMs);
      s.timer.unref();
    }
    return s;
  }

  private now(): number {
    return (this.deps.now ?? Date.now)();
  }

  async reload(): Promise<void> {
    const [records, tips, seen, held] = await Promise.all([
      loadCollectorRecords(this.deps.store),
      loadTips(this.deps.store),
      loadSeen(this.deps.store),
      heldCounts(this.deps.store),
    ]);
    this.records = new Map(records.map((r) => [r.collectorId, r]));
    for (const t of tips) {
      this.tips.set(`${t.collectorId}|${t.keyFingerprint}`, { batchSeq: t.batchSeq, hash: t.hash });
      this.presence.seen(t.collectorId, t.lastBatchAt, false);
    }
    for (const [id, at] of seen) this.presence.seen(id, at, false);
    this.held.reset([...held].filter(([id, n]) => n > 0 && this.records.get(id)?.status === 'approved').map(([id]) => id));
  }

  /** Ingest registers how to close a collector's sockets (used on revoke). */
  setDisconnector(fn: (collectorId: string, reason: string) => void): void {
    this.disconnector = fn;
  }

  get(collectorId: string): CollectorRecord | undefined {
    return this.records.get(collectorId);
  }

  /** Whether a record of `collectorId` may name `institutionId` (its own or a configured one). */
  mayReportFor(collectorId: string, institutionId: string): boolean {
    const rec = this.records.get(collectorId);
    if (!rec) return false;
    return rec.institutionId === institutionId || rec.reportsFor.includes(institutionId);
  }

  /** Runs `fn` after every earlier call for the same collector has settled (batches in order). */
  exclusive<T>(collectorId: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.locks.get(collectorId) ?? Promise.resolve();
    const run = prev.then(fn, fn);
    const tail = run.catch(() => undefined);
    this.locks.set(collectorId, tail);
    void tail.then(() => {
      if (this.locks.get(collectorId) === tail) this.locks.delete(collectorId);
    });
    return run;
  }

  /** Stores records, keeps them as this replica's, and tells the other replicas. */
  private async saveRecords(records: readonly CollectorRecord[]): Promise<void> {
    await saveCollectorRecords(this.deps.store, records);
    for (const r of records) this.records.set(r.collectorId, r);
    if (records.length > 0) this.deps.announce?.();
  }

  /**
   * Another replica changed collector records (`announce`): read them all again. A collector
   * revoked there is disconnected here too, and its held batches here forgotten; one approved or
   * enrolled there is known here at once (its next batch is not held but evaluated after its held
   * ones; the collectors list shows it). Read under the identity lock, so a reload never undoes a change this replica just made.
   * Announcements that arrive while a reload waits to start share it.
   */
  recordsChanged(): Promise<void> {
    if (this.reloadQueued) return this.reloadQueued;
    const queued = this.reloadChain.then(() => {
      this.reloadQueued = undefined;
      return this.reloadRecords();
    });
    this.reloadQueued = queued;
    this.reloadChain = queued.catch(() => undefined);
    return queued;
  }

  private reloadRecords(): Promise<void> {
    return this.identity(async () => {
      const records = await loadCollectorRecords(this.deps.store);
      for (const r of records) {
        const before = this.records.get(r.collectorId);
        this.records.set(r.collectorId, r);
        if (r.status === 'revoked' && before !== undefined && before.status !== 'revoked') {
          this.held.drop(r.collectorId);
          this.disconnector(r.collectorId, `COLLECTOR_REVOKED${r.revokeReason ? `: ${r.revokeReason}` : ''}`);
        }
        // Approved elsewhere: that replica releases the held batches, but a newer batch arriving
        // here must still come after them, so admit() here releases first (both releasing the
        // same batches is harmless: evaluation is idempotent per batch).
        if (r.status === 'approved' && before?.status === 'pending') this.held.due(r.collectorId);
      }
    });
  }

  /** Serialises changes to identities (enrolment, key registration, approval, revocation). */
  private identity<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.identityChain.then(fn, fn);
    this.identityChain = run.catch(() => undefined);
    return run;
  }

  private keyObject(rec: CollectorRecord): crypto.KeyObject {
    let k = this.keys.get(rec.keyFingerprint);
    if (!k) {
      k = parsePublicKey(rec.publicKey);
      if (!k) throw new HubError('COLLECTOR_KEY_MISMATCH', `${rec.collectorId}: the registered key cannot be parsed`);
      this.keys.set(rec.keyFingerprint, k);
    }
    return k;
  }

  private tipOf(rec: CollectorRecord): ChainTip | undefined {
    return this.tips.get(`${rec.collectorId}|${rec.keyFingerprint}`);
  }

  private async refreshTip(rec: CollectorRecord): Promise<ChainTip | undefined> {
    const t = await loadTip(this.deps.store, rec.collectorId, rec.keyFingerprint);
    const key = `${rec.collectorId}|${rec.keyFingerprint}`;
    const cached = this.tips.get(key);
    if (t && (!cached || t.batchSeq > cached.batchSeq)) this.tips.set(key, { batchSeq: t.batchSeq, hash: t.hash });
    return this.tips.get(key);
  }

  // ---- registration ----------------------------------------------------------------------------

  /**
   * Static credentials (JG_COLLECTORS_FILE, config.collectors): new ones are approved at once;
   * known ones get their token and institution updated and keep their key and status — a
   * revoked collector stays revoked even if it is still in the file.
   */
  registerStatic(creds: readonly StaticCredential[]): Promise<void> {
    return this.identity(async () => {
      const now = this.now();
      const changed: CollectorRecord[] = [];
      for (const c of creds) {
        const sha = sha256Hex(c.token);
        const cur = this.records.get(c.collectorId);
        if (c.publicKey !== undefined && !parsePublicKey(c.publicKey)) throw new HubError('CONFIG_INVALID', `collector ${c.collectorId}: publicKey is not an Ed25519 SPKI key`);
        const key = c.publicKey ? { publicKey: c.publicKey, keyFingerprint: keyFingerprint(c.publicKey) } : undefined;
        if (!cur) {
          changed.push({
            collectorId: c.collectorId,
            institutionId: c.institutionId,
            tokenSha256: sha,
            status: 'approved',
            publicKey: key?.publicKey ?? '',
            keyFingerprint: key?.keyFingerprint ?? '',
            counter: '',
            origin: 'static',
            enrolledAt: null,
            approvedAt: now,
            approvedBy: 'static',
            revokedAt: null,
            revokeReason: '',
            reportsFor: c.reportsFor ?? [],
          });
        } else if (key && cur.status !== 'revoked' && cur.publicKey !== key.publicKey) {
          // The administrator bound (or rotated) the key in the file: that binding wins over a
          // proposal waiting for approval, and the collector is approved with it.
          changed.push({ ...cur, tokenSha256: sha, institutionId: c.institutionId, reportsFor: c.reportsFor ?? [], ...key, status: 'approved', approvedAt: now, approvedBy: 'static' });
        } else if (cur.tokenSha256 !== sha || cur.institutionId !== c.institutionId || !sameList(cur.reportsFor, c.reportsFor ?? [])) {
          changed.push({ ...cur, tokenSha256: sha, institutionId: c.institutionId, reportsFor: c.reportsFor ?? [] });
        }
      }
      await this.saveRecords(changed);
    });
  }

  /**
   * The /collect handshake. Resolves with the collector's record (status pending or approved) or
   * throws AUTH_FAILED / COLLECTOR_REVOKED / COLLECTOR_KEY_MISMATCH / ENROL_INVALID.
   */
  async authenticate(auth: CollectorAuth, address = ''): Promise<CollectorRecord> {
    const now = this.now();
    let proven = false;
    if (auth.publicKey !== undefined) {
      if (auth.ts === undefined || auth.proof === undefined) throw new HubError('AUTH_FAILED', 'publicKey given without ts and proof');
      const p = verifyAuthProof({ collectorId: auth.collectorId, publicKey: auth.publicKey, ts: auth.ts, proof: auth.proof }, now);
      if (!p.ok) throw new HubError('AUTH_FAILED', p.reason);
      if (this.deps.firstUse && !(await this.deps.firstUse(auth.proof))) throw new HubError('AUTH_FAILED', 'this handshake proof was already used (replayed); sign a fresh one');
      proven = true;
    }
    const rec = this.records.get(auth.collectorId);
    if (!rec) {
      if (auth.enrol && proven) {
        return this.enrol(
          {
            collectorId: auth.collectorId,
            institutionId: auth.enrol.institutionId,
            counter: auth.enrol.counter,
            publicKey: auth.publicKey!,
            ts: auth.ts!,
            proof: auth.proof!,
          },
          address,
        );
      }
      throw new HubError('AUTH_FAILED', `unknown collector ${auth.collectorId}${auth.enrol ? ' (enrolment needs publicKey, ts and proof)' : ''}`);
    }
    if (rec.status === 'revoked') {
      // A revoked key stays revoked; a device re-filed with a new key waits for approval again.
      if (auth.enrol && proven && auth.publicKey !== rec.publicKey) {
        return this.refile(rec.collectorId, { institutionId: auth.enrol.institutionId, counter: auth.enrol.counter, publicKey: auth.publicKey! });
      }
      throw new HubError('COLLECTOR_REVOKED', `${rec.collectorId}${rec.revokeReason ? `: ${rec.revokeReason}` : ''}`);
    }
    if (auth.token !== undefined && rec.tokenSha256 && !tokenMatches(auth.token, rec.tokenSha256)) {
      throw new HubError('AUTH_FAILED', 'unknown collector or wrong token');
    }
    if (rec.publicKey) {
      if (!proven) throw new HubError('COLLECTOR_KEY_MISMATCH', `${rec.collectorId} has a registered key (${rec.keyFingerprint}); connect with it`);
      if (auth.publicKey !== rec.publicKey) {
        throw new HubError('COLLECTOR_KEY_MISMATCH', `${rec.collectorId} presented key ${keyFingerprint(auth.publicKey!)}, registered is ${rec.keyFingerprint}`);
      }
      return rec;
    }
    // No key bound yet: only a static collector can be here, and its token is the credential.
    if (auth.token === undefined || !tokenMatches(auth.token, rec.tokenSha256)) throw new HubError('AUTH_FAILED', 'unknown collector or wrong token');
    if (!proven) {
      if ((this.deps.keys ?? 'required') === 'required') {
        throw new HubError('COLLECTOR_KEY_REQUIRED', `${rec.collectorId}: connect with the collector's key (its batches must be signed); a token alone is refused`);
      }
      return rec;
    }
    // Never trust on first use: the key is proposed, the collector waits (batches held) until a
    // system_admin approves this fingerprint.
    return this.identity(async () => {
      const cur = this.records.get(rec.collectorId)!;
      if (cur.publicKey) {
        if (cur.publicKey !== auth.publicKey) throw new HubError('COLLECTOR_KEY_MISMATCH', `${rec.collectorId}: key ${cur.keyFingerprint} is already bound or proposed`);
        return cur;
      }
      this.checkPendingRoom(cur.institutionId);
      const next: CollectorRecord = { ...cur, status: 'pending', publicKey: auth.publicKey!, keyFingerprint: keyFingerprint(auth.publicKey!), enrolledAt: this.now() };
      await this.saveRecords([next]);
      emit(this.deps.log, 'collector.key_proposed', { collectorId: next.collectorId, keyFingerprint: next.keyFingerprint }, `collector ${next.collectorId} presented key ${next.keyFingerprint}: pending until a system administrator approves it`);
      return next;
    });
  }

  /**
   * Token check for HTTP callers (e.g. the decision endpoint): the collector when it is approved
   * and `token` is its static token, otherwise undefined. Constant time.
   */
  verifyToken(collectorId: string, token: string): CollectorRecord | undefined {
    const rec = this.records.get(collectorId);
    return rec && rec.status === 'approved' && tokenMatches(token, rec.tokenSha256) ? rec : undefined;
  }

  /** An enrolment request (handshake or REST): unknown id → pending; known id with that key → as is. */
  async enrol(req: CollectorEnrol, address = ''): Promise<CollectorRecord> {
    const p = verifyAuthProof({ collectorId: req.collectorId, publicKey: req.publicKey, ts: req.ts, proof: req.proof }, this.now());
    if (!p.ok) throw new HubError('ENROL_INVALID', p.reason);
    // Only a request that would file a new device counts against its address (a pending device
    // reconnecting is not a new enrolment). Checked before the identity lock: a flood waits on
    // Redis, not on every other identity change.
    const known = this.records.get(req.collectorId);
    const isNew = !known || (known.status === 'revoked' && known.publicKey !== req.publicKey);
    if (isNew && this.deps.allowEnrolment && !(await this.deps.allowEnrolment(address))) {
      throw new HubError('ENROL_RATE_LIMITED', `too many enrolments from ${address || 'this address'}; try again later`);
    }
    return this.identity(async () => {
      const cur = this.records.get(req.collectorId);
      if (cur) {
        if (cur.status === 'revoked') {
          if (cur.publicKey === req.publicKey) throw new HubError('COLLECTOR_REVOKED', cur.collectorId);
          return this.refileLocked(cur.collectorId, req);
        }
        if (cur.publicKey !== req.publicKey) throw new HubError('COLLECTOR_KEY_MISMATCH', `${cur.collectorId} is already filed with another key (${cur.keyFingerprint})`);
        return cur;
      }
      if (!this.deps.registry.institution(req.institutionId)) {
        throw new HubError('ENROL_INVALID', `institutionId: ${req.institutionId} is not in the registry`);
      }
      this.checkPendingRoom(req.institutionId);
      const rec: CollectorRecord = {
        collectorId: req.collectorId,
        institutionId: req.institutionId,
        tokenSha256: '',
        status: 'pending',
        publicKey: req.publicKey,
        keyFingerprint: keyFingerprint(req.publicKey),
        counter: req.counter,
        origin: 'enrolled',
        enrolledAt: this.now(),
        approvedAt: null,
        approvedBy: '',
        revokedAt: null,
        revokeReason: '',
        reportsFor: [],
      };
      await this.saveRecords([rec]);
      emit(this.deps.log, 'collector.enrolled', { collectorId: rec.collectorId, institutionId: rec.institutionId, counter: rec.counter, keyFingerprint: rec.keyFingerprint });
      return rec;
    });
  }

  /** Throws ENROL_LIMIT when one more pending collector would exceed the caps. Under the identity lock. */
  private checkPendingRoom(institutionId: string): void {
    let all = 0;
    let here = 0;
    for (const r of this.records.values()) {
      if (r.status !== 'pending') continue;
      all += 1;
      if (r.institutionId === institutionId) here += 1;
    }
    const maxAll = this.deps.maxPending ?? 200;
    const maxHere = this.deps.maxPendingPerInstitution ?? 20;
    if (here >= maxHere) throw new HubError('ENROL_LIMIT', `${institutionId} already has ${here} collectors waiting for approval (limit ${maxHere}); approve or revoke them first`);
    if (all >= maxAll) throw new HubError('ENROL_LIMIT', `${all} collectors are waiting for approval (limit ${maxAll}); approve or revoke them first`);
  }

  /**
   * Re-filing (a replaced PC, a lost key): a revoked collector presenting a *new* key with an
   * enrolment becomes pending with that key — its old key stays refused — until approved.
   */
  private refile(collectorId: string, req: { institutionId: string; counter: string; publicKey: string }): Promise<CollectorRecord> {
    return this.identity(() => this.refileLocked(collectorId, req));
  }

  private async refileLocked(collectorId: string, req: { institutionId: string; counter: string; publicKey: string }): Promise<CollectorRecord> {
    const cur = this.records.get(collectorId);
    if (!cur || cur.status !== 'revoked') throw new HubError('COLLECTOR_KEY_MISMATCH', `${collectorId} is not revoked; revoke it before filing a new key`);
    if (!this.deps.registry.institution(req.institutionId)) throw new HubError('ENROL_INVALID', `institutionId: ${req.institutionId} is not in the registry`);
    this.checkPendingRoom(req.institutionId);
    const next: CollectorRecord = {
      ...cur,
      institutionId: req.institutionId,
      counter: req.counter || cur.counter,
      status: 'pending',
      publicKey: req.publicKey,
      keyFingerprint: keyFingerprint(req.publicKey),
      enrolledAt: this.now(),
      approvedAt: null,
      approvedBy: '',
    };
    await this.saveRecords([next]);
    emit(this.deps.log, 'collector.refiled', { collectorId, keyFingerprint: next.keyFingerprint, previousKey: cur.keyFingerprint });
    return next;
  }

  /** Approves a pending (or re-instates a revoked) collector; its held batches are then evaluated in order. */
  async approve(collectorId: string, by = '', reportsFor?: string[], expectedFingerprint?: string): Promise<CollectorRecord> {
    const rec = await this.identity(async () => {
      const cur = this.records.get(collectorId);
      if (!cur) throw new HubError('NOT_FOUND', `collector ${collectorId}`);
      // The administrator read the fingerprint off the device: approve that key and no other.
      if (expectedFingerprint !== undefined && expectedFingerprint !== cur.keyFingerprint) {
        throw new HubError('COLLECTOR_KEY_MISMATCH', `${collectorId} holds key ${cur.keyFingerprint || '(none)'}, not ${expectedFingerprint}`);
      }
      const unknown = (reportsFor ?? []).filter((id) => !this.deps.registry.institution(id));
      if (unknown.length) throw new HubError('BODY_INVALID', `reportsFor: not in the registry: ${unknown.slice(0, 5).join(', ')}`);
      if (cur.status === 'approved' && (reportsFor === undefined || sameList(cur.reportsFor, reportsFor))) return cur;
      const next: CollectorRecord = {
        ...cur,
        status: 'approved',
        approvedAt: cur.status === 'approved' ? cur.approvedAt : this.now(),
        approvedBy: cur.status === 'approved' ? cur.approvedBy : by,
        revokedAt: null,
        revokeReason: '',
        ...(reportsFor !== undefined ? { reportsFor } : {}),
      };
      await this.saveRecords([next]);
      emit(this.deps.log, 'collector.approved', { collectorId, by });
      return next;
    });
    this.held.due(collectorId);
    // In the background: an approval answers at once. Newer batches of this collector wait for
    // the release (admit() finishes it first), so evaluation order holds either way.
    void this.releaseHeld(collectorId).catch((e) => emit(this.deps.log, 'collector.release_failed', { collectorId, err: errorMessage(e) }));
    return rec;
  }

  async revoke(collectorId: string, reason = '', by = ''): Promise<CollectorRecord> {
    const rec = await this.identity(async () => {
      const cur = this.records.get(collectorId);
      if (!cur) throw new HubError('NOT_FOUND', `collector ${collectorId}`);
      const next: CollectorRecord = { ...cur, status: 'revoked', revokedAt: this.now(), revokeReason: reason };
      await this.saveRecords([next]);
      emit(this.deps.log, 'collector.revoked', { collectorId, reason, by });
      return next;
    });
    this.held.drop(collectorId);
    this.disconnector(collectorId, `COLLECTOR_REVOKED${reason ? `: ${reason}` : ''}`);
    return rec;
  }

  /** Evaluates the held batches of an approved collector, in order. Returns how many. */
  releaseHeld(collectorId: string): Promise<number> {
    return this.exclusive(collectorId, () => this.releaseLocked(collectorId));
  }

  private async releaseLocked(collectorId: string): Promise<number> {
    if (this.records.get(collectorId)?.status !== 'approved') return 0;
    return this.held.release(collectorId);
  }

  // ---- batches ------------------------------------------------------------------------------------

  /**
   * Verifies a batch and decides what happens to it. Call under exclusive(collectorId). Throws
   * COLLECTOR_REVOKED, BATCH_SIGNATURE_INVALID or BATCH_CHAIN_CONFLICT (raising collector.tamper
   * for the last two). `bytesDigest`: the sha256 of the bytes the records arrived as, if they did.
   */
  async admit(collectorId: string, batch: Batch, bytesDigest?: string): Promise<Admission> {
    let rec = this.records.get(collectorId);
    if (!rec || rec.status === 'revoked') throw new HubError('COLLECTOR_REVOKED', collectorId);
    if (rec.status === 'approved' && this.held.isDue(collectorId)) {
      // Held batches come first; if they cannot be evaluated now, neither can this one.
      try {
        await this.releaseLocked(collectorId);
      } catch (e) {
        throw isHubError(e) && e.retryable ? e : new HubError('EVALUATION_FAILED', `held batches of ${collectorId}: ${errorMessage(e)}`, { cause: e });
      }
      rec = this.records.get(collectorId)!;
    }
    const hold = rec.status === 'pending';
    if (!rec.publicKey) return { record: rec, hold };

    const now = this.now();
    const v = verifyBatch(batch, this.keyObject(rec), bytesDigest);
    if (!v.ok) {
      await this.raiseTamper(
        tamperWarning({
          collectorId,
          institutionId: rec.institutionId,
          batchId: batch.batchId,
          batchSeq: batch.batchSeq,
          reason: v.reason,
          fingerprint: sha256Hex(`${v.digest}|${batch.prevHash ?? ''}|${batch.signature ?? ''}`).slice(0, 32),
          at: now,
        }),
      );
      throw new HubError('BATCH_SIGNATURE_INVALID', `${batch.batchId}: ${v.reason}`);
    }
    const seq = batch.batchSeq!;
    const prev = batch.prevHash!;
    const row: ChainRow = {
      collectorId,
      keyFingerprint: rec.keyFingerprint,
      batchSeq: seq,
      batchId: batch.batchId,
      hash: v.hash,
      prevHash: prev,
      firstSeq: batch.firstSeq,
      lastSeq: batch.lastSeq,
      records: batch.records.length,
      held: hold,
      receivedAt: now,
    };

    const decide = async (tip: ChainTip | undefined): Promise<Admission | { conflict: string }> => {
      const expected = (tip?.batchSeq ?? 0) + 1;
      const tipHash = tip?.hash ?? GENESIS_HASH;
      if (seq === expected) return prev === tipHash ? { record: rec, hold, advance: row } : { conflict: tipHash };
      if (seq > expected) return { record: rec, hold, advance: row, gap: { expected, got: seq } };
      const known = seq === tip!.batchSeq ? tip!.hash : await hashAt(this.deps.store, collectorId, rec.keyFingerprint, seq);
      return known === v.hash ? { record: rec, hold } : { conflict: known ?? '' };
    };
    let d = await decide(this.tipOf(rec));
    if ('conflict' in d || d.gap) d = await decide(await this.refreshTip(rec)); // the cache may be stale
    if ('conflict' in d) {
      const tip = this.tipOf(rec) ?? null;
      await this.raiseTamper(
        tamperWarning({
          collectorId,
          institutionId: rec.institutionId,
          batchId: batch.batchId,
          batchSeq: seq,
          reason: 'chain_conflict',
          fingerprint: v.hash,
          expectedPrev: d.conflict,
          gotPrev: prev,
          at: now,
        }),
      );
      const err: ChainError = new HubError('BATCH_CHAIN_CONFLICT', `${batch.batchId}: batch ${seq} does not continue the accepted chain (tip ${tip?.batchSeq ?? 0})`);
      err.chain = tip;
      throw err;
    }
    return d;
  }

  /** collector.tamper, at most once per collector per interval (the refusal itself always happens). */
  private async raiseTamper(input: Parameters<CollectorWarnings['raise']>[0]): Promise<void> {
    const ms = this.deps.tamperIntervalMs ?? 600_000;
    if (this.deps.throttle && !(await this.deps.throttle(`tamper:${input.collectorId}`, ms).catch(() => true))) {
      emit(this.deps.log, 'collector.tamper_suppressed', { collectorId: input.collectorId, batchId: input.batchId });
      return;
    }
    await this.warnings.raise(input);
  }

  /** Stores a batch of a pending collector whole, for evaluation on approval. */
  hold(adm: Admission, batch: Batch): Promise<ProcessedAck> {
    return this.held.hold(adm.record.collectorId, batch);
  }

  /** Alongside storing the batch (see the ordering note): gap warning, then the chain row, then last seen. */
  async commit(adm: Admission, batch: Batch): Promise<void> {
    const rec = adm.record;
    if (adm.gap) {
      await this.warnings.raise(
        gapWarning({
          collectorId: rec.collectorId,
          institutionId: rec.institutionId,
          batchId: batch.batchId,
          keyFingerprint: rec.keyFingerprint,
          expected: adm.gap.expected,
          got: adm.gap.got,
          at: this.now(),
        }),
      );
    }
    if (adm.advance) {
      await insertChainRow(this.deps.store, adm.advance);
      const key = `${rec.collectorId}|${rec.keyFingerprint}`;
      const cur = this.tips.get(key);
      if (!cur || adm.advance.batchSeq > cur.batchSeq) this.tips.set(key, { batchSeq: adm.advance.batchSeq, hash: adm.advance.hash });
    }
    this.presence.seen(rec.collectorId, this.now());
  }

  /** What hub.hello tells a collector: its status and the chain tip for its key. */
  async hello(collectorId: string): Promise<{ status: CollectorStatusName; chain: ChainTip | null }> {
    const rec = this.records.get(collectorId);
    if (!rec) return { status: 'revoked', chain: null };
    const chain = rec.publicKey ? ((await this.refreshTip(rec).catch(() => this.tipOf(rec))) ?? null) : null;
    return { status: rec.status, chain };
  }

  // ---- presence and silence ---------------------------------------------------------------------

  connected(collectorId: string): void {
    this.presence.connected(collectorId);
  }

  disconnected(collectorId: string): void {
    this.presence.disconnected(collectorId);
  }

  /**
   * Raises collector.silent for approved collectors unseen for `silentMinutes` of working time.
   * Returns the warnings raised now. `now` may be given (tests move time forward).
   */
  checkSilence(now = this.now()): Promise<Warning[]> {
    return this.presence.checkSilence(this.records.values(), now);
  }

  /** Saves last-seen times changed since the previous save. */
  saveSeen(): Promise<void> {
    return this.presence.save();
  }

  /** One periodic pass: silence, last-seen times, held batches whose release failed before. */
  tick(): Promise<void> {
    this.checking ??= (async () => {
      try {
        await this.checkSilence();
        await this.saveSeen();
        for (const id of this.held.dueCollectors()) await this.releaseHeld(id);
      } catch (e) {
        emit(this.deps.log, 'collector.check_failed', { err: errorMessage(e) });
      } finally {
        this.checking = undefined;
      }
    })();
    return this.checking;
  }

  // ---- listing ------------------------------------------------------------------------------------

  async list(): Promise<CollectorInfo[]> {
    const held = await heldCounts(this.deps.store);
    return [...this.records.values()].map((r) => this.info(r, held.get(r.collectorId) ?? 0));
  }

  info(r: CollectorRecord, heldBatches = 0): CollectorInfo {
    return {
      collectorId: r.collectorId,
      institutionId: r.institutionId,
      institutionName: this.deps.registry.institution(r.institutionId)?.name ?? r.institutionId,
      counter: r.counter,
      origin: r.origin,
      status: r.status,
      keyFingerprint: r.keyFingerprint,
      enrolledAt: r.enrolledAt,
      approvedAt: r.approvedAt,
      revokedAt: r.revokedAt,
      revokeReason: r.revokeReason,
      lastSeenAt: this.presence.lastSeenAt(r.collectorId),
      lastBatchSeq: this.tipOf(r)?.batchSeq ?? null,
      connected: this.presence.isConnected(r.collectorId),
      heldBatches,
      reportsFor: r.reportsFor,
    };
  }

  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.checking;
    await this.saveSeen().catch((e) => emit(this.deps.log, 'collector.seen_save_failed', { err: errorMessage(e) }));
  }
}
