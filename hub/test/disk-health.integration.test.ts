/**
 * The disk of the hub's data directory on /healthz and /metrics: bytes free and in all as the
 * kernel says (statfs), `low` below JG_DISK_LOW_BYTES without taking the hub out of service.
 */
import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Health } from '@jianguan/protocol';
import type { Hub } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { startTestHub } from './helpers.js';

let hub: Hub;
let dataDir: string;

beforeAll(async () => {
  ({ hub, dataDir } = await startTestHub({ diskLowBytes: 0 }));
});
afterAll(async () => {
  await hub?.close();
});

const health = async () => {
  const res = await hub.app.inject({ method: 'GET', url: '/healthz' });
  return { code: res.statusCode, body: res.json() as Health };
};

describe('the data disk on /healthz and /metrics', () => {
  it('gives the bytes free and in all of the data directory disk, and says low below JG_DISK_LOW_BYTES while the hub stays ok', async () => {
    const st = fs.statfsSync(dataDir);
    const ok = await health();
    expect(ok.code).toBe(200);
    expect(ok.body.status).toBe('ok');
    expect(ok.body.disk).toMatchObject({ status: 'ok', total_bytes: st.blocks * st.bsize });
    // Other programs write to this disk too: free as read, within a margin.
    expect(Math.abs(ok.body.disk!.free_bytes - st.bavail * st.bsize)).toBeLessThan(512 * 1024 ** 2);

    const metrics = await hub.app.inject({ method: 'GET', url: '/metrics', remoteAddress: '127.0.0.1' });
    expect(metrics.body).toMatch(new RegExp(`^jg_data_disk_total_bytes ${st.blocks * st.bsize}$`, 'm'));
    expect(metrics.body).toMatch(/^jg_data_disk_free_bytes [1-9]\d*$/m);

    // A threshold above what the disk has: low, and still 200 ok (not an outage by itself).
    (hub.config as { diskLowBytes: number }).diskLowBytes = st.blocks * st.bsize + 1;
    const low = await health();
    expect(low.code).toBe(200);
    expect(low.body.status).toBe('ok');
    expect(low.body.disk?.status).toBe('low');
  });

  it('reads JG_DISK_LOW_BYTES, 2 GiB by default, and refuses a negative one', () => {
    expect(loadConfig({}).diskLowBytes).toBe(2 * 1024 ** 3);
    expect(loadConfig({ JG_DISK_LOW_BYTES: '1073741824' }).diskLowBytes).toBe(1024 ** 3);
    expect(() => loadConfig({ JG_DISK_LOW_BYTES: '-1' })).toThrowError(/diskLowBytes|JG_DISK_LOW_BYTES/);
  });
});
