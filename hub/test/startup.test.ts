/** Start-up failures are clear errors, not hangs. */
import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { startHub } from '../src/app.js';
import { isHubError } from '../src/errors.js';
import { tmpDir } from './helpers.js';

async function closedPort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  const port = (srv.address() as net.AddressInfo).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

describe('hub start-up', () => {
  it('fails with QUEUE_UNAVAILABLE naming the URL when Redis does not answer', async () => {
    const url = `redis://127.0.0.1:${await closedPort()}`;
    const started = Date.now();
    const err = await startHub({ port: 0, host: '127.0.0.1', redisUrl: url, dataDir: tmpDir('startup'), logLevel: 'silent' }, {}).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isHubError(err)).toBe(true);
    expect((err as { code: string }).code).toBe('QUEUE_UNAVAILABLE');
    expect((err as Error).message).toContain(url);
    expect(Date.now() - started).toBeLessThan(30_000);
  }, 40_000);
});
