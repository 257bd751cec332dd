/** The collector's identity (Ed25519 key pair) and its batch chain (sealed, signed headers). */
export { IDENTITY_FILE, loadOrCreateIdentity, type CollectorIdentity } from './keys.js';
export { BatchChain, CHAIN_FILE, recordsDigest, type ChainEvent, type SealedHeader } from './chain.js';
