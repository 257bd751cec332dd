/**
 * Connections held open without a whole request (http/connections.ts): a body trickled a byte at
 * a time is cut at JG_REQUEST_TIMEOUT_S with 408, one address holds at most JG_CONN_PER_ADDRESS
 * connections, and the hub answers again once they are gone.
 */
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Hub } from '../src/app.js';
import { defaultMaxConnections, openFilesLimit } from '../src/http/connections.js';
import { startTestHub } from './helpers.js';

let hub: Hub;
const opened: net.Socket[] = [];

beforeAll(async () => {
  ({ hub } = await startTestHub({ requestTimeoutS: 2, connPerAddress: 4 }));
});

afterAll(async () => {
  for (const s of opened) s.destroy();
  await hub?.close();
});

/** A raw connection to the hub; resolves with everything it received once the hub closes it. */
function rawConnection(): { socket: net.Socket; ended: Promise<string> } {
  const port = Number(new URL(hub.url).port);
  const socket = net.connect(port, '127.0.0.1');
  opened.push(socket);
  let got = '';
  socket.on('data', (d) => (got += d.toString('latin1')));
  const ended = new Promise<string>((resolve) => {
    socket.on('close', () => resolve(got));
    socket.on('error', () => undefined);
  });
  return { socket, ended };
}

describe('connections without a whole request', () => {
  it('cuts a trickled body with 408, refuses an address over its limit, and answers again afterwards', async () => {
    // Four login requests whose bodies never arrive: headers whole, one byte of 1,000 sent.
    const slow = Array.from({ length: 4 }, () => rawConnection());
    await Promise.all(slow.map(({ socket }) => new Promise<void>((resolve) => socket.once('connect', () => resolve()))));
    for (const { socket } of slow) {
      socket.write('POST /api/v1/auth/login HTTP/1.1\r\nHost: hub\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{');
    }
    // A fifth from the same address is closed before it can send anything: nothing answered.
    const fifth = rawConnection();
    expect(await fifth.ended).toBe('');
    // The four are answered 408 REQUEST_TIMEOUT and closed once their time is up.
    const answers = await Promise.all(slow.map((s) => s.ended));
    for (const a of answers) {
      expect(a.startsWith('HTTP/1.1 408 ')).toBe(true);
      expect(a).toContain('"code":"REQUEST_TIMEOUT"');
    }
    // Their slots are free again: the hub answers.
    const res = await fetch(`${hub.url}/healthz`);
    expect(res.status).toBeLessThan(500);
  }, 60_000);

  it('leaves half the open-file limit to the store by default', () => {
    const limits = 'Limit                     Soft Limit           Hard Limit           Units     \nMax cpu time              unlimited            unlimited            seconds   \nMax open files            20000                20000                files     \n';
    expect(openFilesLimit(limits)).toBe(20_000);
    expect(defaultMaxConnections(undefined, 20_000)).toBe(10_000);
    expect(defaultMaxConnections(undefined, 1_024)).toBe(512);
    expect(defaultMaxConnections(undefined, null)).toBe(5_000);
    expect(defaultMaxConnections(300, 20_000)).toBe(300);
    expect(openFilesLimit('Max open files            unlimited            unlimited            files\n')).toBeUndefined();
    expect(openFilesLimit('')).toBeUndefined();
  });
});
