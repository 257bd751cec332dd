// Types of the hostile-input runner (run.mjs) for the TypeScript test that drives it.
export interface FuzzCollector {
  collectorId: string;
  institutionId: string;
  token: string;
  /** The bound key (base64 SPKI), as in the credential. */
  publicKey: string;
}
export interface FuzzCollectors {
  rec: FuzzCollector;
  a: FuzzCollector;
  chain: FuzzCollector;
  legit: FuzzCollector;
  col: FuzzCollector;
}
export interface CategoryStats {
  name: string;
  sent: number;
  accepted: number;
  refused: number;
  '5xx': number;
  uncoded: number;
  silent: number;
  dropped: number;
  unsent: number;
  exits: number;
  ms: number;
}
export interface Violation {
  category: string;
  kind: string;
  input: string;
  detail?: string;
  count: number;
}
export interface FuzzReport {
  seed: string;
  count: number;
  seconds: number;
  elapsedMs: number;
  stoppedByTime: boolean;
  total: number;
  categories: CategoryStats[];
  exits: { which: string; category: string; lastInputs: string[]; output: string }[];
  violations: Violation[];
  findings: { category: string; input: string; detail: string; count: number }[];
  dropped: { category: string; input: string; detail: string; count: number }[];
  legit: { records: number; batchesSent: number; acked: number; missing: number; duplicated: number; overwritten: number; failures: string[] };
  rssMaxBytes: number;
  maxRssBytes: number;
  verdict: 'PASS' | 'FAIL';
}
export interface FuzzOptions {
  hubUrl: string;
  collectorUrl: string;
  protocol: {
    canonicalAuthProof(collectorId: string, publicKey: string, ts: number): string;
    canonicalBatchHeader(h: { collectorId: string; batchId: string; batchSeq: number; prevHash: string; firstSeq: number; lastSeq: number; recordsDigest: string }): string;
    GENESIS_HASH: string;
  };
  collectors: FuzzCollectors;
  count: number;
  seconds: number;
  seed: string | number;
  alive(): Promise<{ hub: boolean; collector: boolean }>;
  recover?(which: 'hub' | 'collector'): Promise<string>;
  rss(): number;
  maxRssBytes: number;
  verifyStored(ids: string[]): Promise<{ id: string; n: number; collectors: string[]; lsh: string[] }[]>;
  log?(line: string): void;
}
export const CATEGORIES: { name: string; weight: number }[];
export function fuzzCollectors(seed?: string): FuzzCollectors;
export function writeCollectorIdentity(outboxDir: string, c: FuzzCollector): void;
export function runFuzz(o: FuzzOptions): Promise<FuzzReport>;
export function formatReport(rep: FuzzReport): string;
export function isClientReset(e: unknown): boolean;
