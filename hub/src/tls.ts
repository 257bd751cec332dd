/**
 * TLS for the hub's one port (HTTP API, dashboard, socket.io /collect and /wall).
 *
 * The certificate and key come from files (JG_TLS_CERT, JG_TLS_KEY; PEM, the certificate file may
 * carry the chain). They are re-read on SIGHUP and when either file changes, and swapped into the
 * running server with `setSecureContext`: new handshakes get the new certificate, connections
 * already open keep theirs, nothing restarts. A reload that fails (a half-written file, a key
 * that does not match the certificate) keeps the previous context and logs tls.reload_failed,
 * so a botched renewal never takes the hub down.
 *
 * Only TLS 1.2 and 1.3 are offered.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import type tls from 'node:tls';
import type { FastifyBaseLogger } from 'fastify';
import { HubError, errorMessage } from './errors.js';
import { emit } from './telemetry/events.js';

export interface TlsFiles {
  cert: string;
  key: string;
}

export interface TlsMaterial {
  cert: Buffer;
  key: Buffer;
  minVersion: tls.SecureVersion;
}

/** Reads and checks the pair: both parse, and the key belongs to the certificate. */
export function readTlsMaterial(files: TlsFiles): TlsMaterial {
  let cert: Buffer;
  let key: Buffer;
  try {
    cert = fs.readFileSync(files.cert);
    key = fs.readFileSync(files.key);
  } catch (e) {
    throw new HubError('CONFIG_INVALID', `JG_TLS_CERT / JG_TLS_KEY: ${errorMessage(e)}`);
  }
  try {
    const x509 = new crypto.X509Certificate(cert);
    const priv = crypto.createPrivateKey(key);
    if (!x509.checkPrivateKey(priv)) throw new Error('the key does not belong to the certificate');
  } catch (e) {
    throw new HubError('CONFIG_INVALID', `JG_TLS_CERT / JG_TLS_KEY: ${errorMessage(e)}`);
  }
  return { cert, key, minVersion: 'TLSv1.2' };
}

/** What a reload changed, for the log and for tests. */
export interface TlsReloader {
  /** Re-reads the files now; resolves true when the new pair is in use. */
  reload(reason: string): boolean;
  close(): void;
}

/**
 * Watches the files and SIGHUP. `server` is the https server fastify created; it must support
 * setSecureContext (node:https and node:tls servers do).
 */
export function watchTls(server: { setSecureContext(o: tls.SecureContextOptions): void }, files: TlsFiles, log: FastifyBaseLogger): TlsReloader {
  let timer: NodeJS.Timeout | undefined;
  const reload = (reason: string): boolean => {
    try {
      const m = readTlsMaterial(files);
      server.setSecureContext(m);
      const x509 = new crypto.X509Certificate(m.cert);
      emit(log, 'tls.reloaded', { reason, subject: x509.subject, validTo: x509.validTo, fingerprint256: x509.fingerprint256 });
      return true;
    } catch (e) {
      emit(log, 'tls.reload_failed', { reason, err: errorMessage(e) });
      return false;
    }
  };
  // Certificate renewals write two files, often by rename: debounce and re-read both.
  const changed = () => {
    if (timer) clearTimeout(timer);
    timer = setTimeout(() => reload('file changed'), 200);
    timer.unref();
  };
  // watchFile (stat polling) survives the rename-into-place that certbot and friends do, where
  // an fs.watch on the old inode would go quiet.
  const interval = 2_000;
  fs.watchFile(files.cert, { interval, persistent: false }, changed);
  fs.watchFile(files.key, { interval, persistent: false }, changed);
  const onHup = () => reload('SIGHUP');
  process.on('SIGHUP', onHup);
  return {
    reload,
    close: () => {
      if (timer) clearTimeout(timer);
      fs.unwatchFile(files.cert, changed);
      fs.unwatchFile(files.key, changed);
      process.off('SIGHUP', onHup);
    },
  };
}

/**
 * JG_TRUST_PROXY → fastify's trustProxy. 'false' (default): the peer address is the client and
 * X-Forwarded-* headers are ignored — anyone could send them. 'true': trust every hop (only when
 * the hub is reachable through the proxy alone). A number: that many hops. Otherwise a
 * comma-separated list of proxy addresses or CIDRs, e.g. '127.0.0.1,10.0.0.0/8'.
 */
export function trustProxyOption(value: string): boolean | number | string[] {
  const v = value.trim().toLowerCase();
  if (v === '' || v === 'false' || v === '0' || v === 'off' || v === 'no') return false;
  if (v === 'true' || v === 'on' || v === 'yes') return true;
  if (/^[1-9]\d?$/.test(v)) return Number(v);
  return value.split(',').map((s) => s.trim()).filter((s) => s !== '');
}

/** Whether a bind address only accepts local connections. */
export function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}
