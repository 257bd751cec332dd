/**
 * The deployment files under deploy/ agree with each other and with the code (static: files are
 * read, nothing is started). Every JG_* name they use is one the hub or the collector reads; the
 * example env files pass the config modules' validation; the systemd units may write where the
 * example envs put data, backups, the keyring and the outbox; the cluster's nginx reaches the
 * replicas on the port and scheme their env gives them.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const DEPLOY = path.join(ROOT, 'deploy');
const read = (rel: string): string => fs.readFileSync(path.join(ROOT, rel), 'utf8');

function filesUnder(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? filesUnder(p) : [p];
  });
}

/** JG_* names the hub reads: the ENV table of hub/src/config.ts. */
const hubNames = new Set([...read('hub/src/config.ts').matchAll(/^\s+(JG_[A-Z0-9_]+): '/gm)].map((m) => m[1]!));
/** JG_* names the collector reads: its config table, and what main.ts reads itself. */
const collectorNames = new Set([
  ...[...read('collector/src/config.ts').matchAll(/name: '(JG_[A-Z0-9_]+)'/g)].map((m) => m[1]!),
  ...[...read('collector/src/main.ts').matchAll(/process\.env\.(JG_[A-Z0-9_]+)/g)].map((m) => m[1]!),
]);

interface EnvFile {
  /** Lines `NAME=value`. */
  active: Record<string, string>;
  /** Lines `#NAME=value` / `# NAME=value`: settings shown but left at their default. */
  commented: [string, string][];
}

function envFile(rel: string): EnvFile {
  const active: Record<string, string> = {};
  const commented: [string, string][] = [];
  for (const line of read(rel).split('\n')) {
    const a = /^(JG_[A-Z0-9_]+)=(.*)$/.exec(line);
    if (a) {
      active[a[1]!] = a[2]!;
      continue;
    }
    const c = /^#\s?(JG_[A-Z0-9_]+)=(.*)$/.exec(line);
    if (c) commented.push([c[1]!, c[2]!]);
  }
  return { active, commented };
}

/** `Key=value` lines of a unit file (a key given more than once: every value). */
function unit(rel: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const line of read(rel).split('\n')) {
    const m = /^([A-Za-z]+)=(.*)$/.exec(line.trim());
    if (m) out.set(m[1]!, [...(out.get(m[1]!) ?? []), m[2]!]);
  }
  return out;
}

/** Directories a unit may write under ProtectSystem=strict: ReadWritePaths and StateDirectory. */
function writable(u: Map<string, string[]>): string[] {
  const rw = (u.get('ReadWritePaths') ?? []).flatMap((v) => v.split(/\s+/)).filter(Boolean).map((p) => p.replace(/^-/, ''));
  const state = (u.get('StateDirectory') ?? []).flatMap((v) => v.split(/\s+/)).filter(Boolean).map((d) => path.join('/var/lib', d));
  return [...rw, ...state];
}

const within = (p: string, dirs: readonly string[]): boolean => dirs.some((d) => p === d || p.startsWith(`${d.replace(/\/$/, '')}/`));

const HUB_UNIT = 'deploy/single-host/jianguan-hub.service';
const COLLECTOR_UNIT = 'deploy/single-host/jianguan-collector.service';
const HUB_ENV = 'deploy/single-host/hub.env.example';
const REPLICA_ENV = 'deploy/cluster/hub-replica.env.example';
const COLLECTOR_ENV = 'deploy/single-host/collector.env.example';
const NGINX = 'deploy/cluster/nginx/jianguan.conf';

describe('deploy/: names', () => {
  it('every JG_* name in deploy/ is one the hub or the collector reads', () => {
    const unknown: string[] = [];
    for (const file of filesUnder(DEPLOY)) {
      if (file.endsWith('.sql')) continue;
      const text = fs.readFileSync(file, 'utf8');
      for (const m of text.matchAll(/\bJG_[A-Z0-9_]*[A-Z0-9]\b/g)) {
        if (!hubNames.has(m[0]) && !collectorNames.has(m[0])) unknown.push(`${path.relative(ROOT, file)}: ${m[0]}`);
      }
    }
    expect(hubNames.size).toBeGreaterThan(50);
    expect(collectorNames.has('JG_OUTBOX_DIR')).toBe(true);
    expect(unknown).toEqual([]);
  });

  it('the hub env examples hold hub settings only, the collector example collector settings only', () => {
    for (const rel of [HUB_ENV, REPLICA_ENV]) {
      const e = envFile(rel);
      expect([...Object.keys(e.active), ...e.commented.map(([n]) => n)].filter((n) => !hubNames.has(n)), rel).toEqual([]);
    }
    const c = envFile(COLLECTOR_ENV);
    expect([...Object.keys(c.active), ...c.commented.map(([n]) => n)].filter((n) => !collectorNames.has(n))).toEqual([]);
  });
});

describe('deploy/: the example env files are valid settings', () => {
  it.each([HUB_ENV, REPLICA_ENV])('%s passes the hub configuration, with each commented setting too', (rel) => {
    const e = envFile(rel);
    expect(() => loadConfig(e.active)).not.toThrow();
    for (const [name, value] of e.commented) expect(() => loadConfig({ ...e.active, [name]: value }), `${rel}: ${name}`).not.toThrow();
  });

  it('collector.env.example passes the collector configuration', async () => {
    // The collector's source, not its build (this test needs no build); a computed path keeps the
    // hub's typecheck inside the hub package.
    const mod = (await import(path.join(ROOT, 'collector/src/config.ts'))) as { loadConfigFromEnv(env: Record<string, string>): { outboxDir: string } };
    const e = envFile(COLLECTOR_ENV);
    const cfg = mod.loadConfigFromEnv(e.active);
    expect(cfg.outboxDir).toBe(e.active.JG_OUTBOX_DIR);
  });
});

describe('deploy/: what the units may write', () => {
  const hubUnit = unit(HUB_UNIT);
  const hubWritable = writable(hubUnit);

  it('the hub unit is sandboxed and may write JG_DATA_DIR, JG_BACKUP_DIR and the keyring of every hub env example', () => {
    expect(hubUnit.get('ProtectSystem')).toEqual(['strict']);
    for (const rel of [HUB_ENV, REPLICA_ENV]) {
      const cfg = loadConfig(envFile(rel).active);
      expect(within(cfg.dataDir, hubWritable), `${rel}: JG_DATA_DIR ${cfg.dataDir}`).toBe(true);
      expect(within(cfg.backupDir, hubWritable), `${rel}: JG_BACKUP_DIR ${cfg.backupDir}`).toBe(true);
      // A restore puts the backup's keyring back in place; a rotation writes its successor beside it.
      if (cfg.pseudonymSecretFile) expect(within(path.dirname(cfg.pseudonymSecretFile), hubWritable), `${rel}: JG_PSEUDONYM_SECRET_FILE`).toBe(true);
    }
  });

  it('the hub only wants Redis: a restart of Redis does not restart the hub', () => {
    expect(hubUnit.get('Requires') ?? []).toEqual([]);
    expect((hubUnit.get('Wants') ?? []).join(' ')).toContain('redis-server.service');
    expect((hubUnit.get('After') ?? []).join(' ')).toContain('redis-server.service');
    expect(read('deploy/single-host/redis-server.service.d/jianguan.conf')).toContain('Wants=');
  });

  it('the hub has longer to stop than ingest waits for a batch to be stored', () => {
    const stopS = Number(hubUnit.get('TimeoutStopSec')?.[0]);
    expect(stopS * 1000).toBeGreaterThan(loadConfig({}).ackTimeoutMs);
  });

  it('the collector unit may write its outbox, also when JG_OUTBOX_DIR is unset (relative default)', () => {
    const u = unit(COLLECTOR_UNIT);
    expect(u.get('ProtectSystem')).toEqual(['strict']);
    const dirs = writable(u);
    const outbox = envFile(COLLECTOR_ENV).active.JG_OUTBOX_DIR!;
    expect(path.isAbsolute(outbox)).toBe(true);
    expect(within(outbox, dirs), `JG_OUTBOX_DIR ${outbox}`).toBe(true);
    const wd = u.get('WorkingDirectory')?.[0];
    expect(wd && within(wd, dirs), `WorkingDirectory ${wd}`).toBe(true);
    // The CA and env it reads are where the unit and the README say.
    expect(u.get('EnvironmentFile')).toEqual(['/etc/jianguan/collector.env']);
  });
});

describe('deploy/: ports and addresses', () => {
  it('a single-host collector reaches the hub on the hub example\'s port, over TLS', () => {
    const hub = envFile(HUB_ENV).active;
    const url = new URL(envFile(COLLECTOR_ENV).active.JG_HUB_URL!);
    expect(url.protocol).toBe('https:');
    expect(url.port).toBe(hub.JG_PORT);
    expect(hub.JG_TLS_CERT && hub.JG_TLS_KEY).toBeTruthy();
    expect(read('deploy/single-host/README.md')).toContain(`https://127.0.0.1:${hub.JG_PORT}/healthz`);
  });

  it('nginx proxies to the replicas on their JG_PORT, with TLS exactly when they serve it', () => {
    const replica = envFile(REPLICA_ENV).active;
    const conf = read(NGINX);
    const upstream = /upstream\s+(\w+)\s*\{([^}]*)\}/.exec(conf);
    expect(upstream).not.toBeNull();
    const ports = [...upstream![2]!.matchAll(/^\s*server\s+[\w.-]+:(\d+)/gm)].map((m) => m[1]);
    expect(ports.length).toBeGreaterThan(1);
    expect(new Set(ports)).toEqual(new Set([replica.JG_PORT]));
    const scheme = /proxy_pass\s+(\w+):\/\/(\w+);/.exec(conf);
    expect(scheme?.[2]).toBe(upstream![1]);
    expect(scheme?.[1]).toBe(replica.JG_TLS_CERT ? 'https' : 'http');
  });

  it('nginx passes socket.io\'s WebSocket upgrade, keeps a client on one replica and admits the hub\'s largest body', () => {
    const conf = read(NGINX);
    expect(conf).toMatch(/^\s*ip_hash;/m);
    expect(conf).toMatch(/proxy_http_version 1\.1;/);
    expect(conf).toMatch(/proxy_set_header Upgrade \$http_upgrade;/);
    expect(conf).toMatch(/proxy_set_header Connection \$connection_upgrade;/);
    expect(conf).toMatch(/proxy_set_header X-Forwarded-Proto \$scheme;/);
    const size = /client_max_body_size\s+(\d+)([km]?);/.exec(conf);
    expect(size).not.toBeNull();
    const bytes = Number(size![1]) * (size![2] === 'm' ? 1024 * 1024 : size![2] === 'k' ? 1024 : 1);
    const cfg = loadConfig({});
    // The registry import's JSON body (hub/src/registry/routes.ts) and the evidence upload.
    expect(bytes).toBeGreaterThanOrEqual(Math.ceil((cfg.importMaxBytes * 4) / 3) + 64 * 1024);
    expect(bytes).toBeGreaterThanOrEqual(Math.ceil((cfg.evidenceMaxBytes * 4) / 3) + 64 * 1024);
  });

  it('the replicas trust nginx alone for X-Forwarded-*, not a whole range', () => {
    const trust = envFile(REPLICA_ENV).active.JG_TRUST_PROXY ?? '';
    expect(trust).not.toMatch(/^(|false|true|0|\d{1,2})$/);
    for (const a of trust.split(',')) expect(a.trim(), 'an address, not a CIDR range').not.toContain('/');
  });

  it('the replicas reach Redis through the HAProxy that follows the primary (the hub does not speak Sentinel)', () => {
    const url = new URL(envFile(REPLICA_ENV).active.JG_REDIS_URL!);
    expect(url.protocol).toBe('redis:');
    const haproxy = read('deploy/cluster/redis/haproxy-redis.cfg');
    expect(haproxy).toContain(`bind ${url.hostname}:${url.port}`);
    expect(haproxy).toContain('role:master');
    expect(haproxy).toContain('shutdown-sessions');
    // Sentinel refuses a host name in `sentinel monitor` unless told to resolve it.
    const sentinel = read('deploy/cluster/redis/sentinel.conf');
    const monitor = /^sentinel monitor \S+ (\S+) /m.exec(sentinel);
    if (monitor && !/^[\d.:]+$/.test(monitor[1]!)) expect(sentinel).toMatch(/^sentinel resolve-hostnames yes$/m);
    expect(read('deploy/cluster/README.md')).not.toMatch(/through your service discovery/);
  });
});
