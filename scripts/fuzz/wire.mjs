// Wire-level clients for the hostile-input suite. The socket.io and HTTP client libraries refuse
// to send most malformed inputs, so these speak the protocols directly: socket.io v5 packets over
// an engine.io v4 WebSocket, HTTP through node:http, and raw bytes through node:net.
import http from 'node:http';
import net from 'node:net';
import WebSocket from 'ws';

const agent = new http.Agent({ keepAlive: true, maxSockets: 32 });

/**
 * One HTTP request. `body` is a string or Buffer sent as is. Resolves with the status and the
 * body text; a connection error resolves with status 0 (the caller decides whether that counts).
 */
export async function httpRequest(base, opts) {
  const res = await httpRequestOnce(base, opts);
  // A kept-alive socket the server closed while idle fails the next request before it is read:
  // that is this client's race, not the server's answer, so the request is sent again once.
  return res.staleSocket ? httpRequestOnce(base, opts) : res;
}

function httpRequestOnce(base, { method = 'GET', path = '/', headers = {}, body, timeoutMs = 20_000 }) {
  return new Promise((resolve) => {
    const u = new URL(base);
    let done = false;
    const finish = (v) => {
      if (!done) {
        done = true;
        resolve(v);
      }
    };
    let req;
    try {
      req = http.request({ host: u.hostname, port: u.port, method, path, headers, agent, timeout: timeoutMs }, (res) => {
        const chunks = [];
        let size = 0;
        res.on('data', (c) => {
          // Keep the first MiB: enough to read an error body, bounded for huge exports.
          if (size < 1 << 20) chunks.push(c);
          size += c.length;
        });
        res.on('end', () => finish({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', (e) => finish({ status: res.statusCode ?? 0, headers: res.headers, text: '', error: e.message }));
      });
    } catch (e) {
      // node:http refused the request itself (e.g. an invalid header character): nothing was sent.
      finish({ status: -1, text: '', error: e.message });
      return;
    }
    req.on('timeout', () => {
      req.destroy(new Error('timeout'));
      finish({ status: 0, text: '', error: 'timeout' });
    });
    req.on('error', (e) => finish({ status: 0, text: '', error: e.message, staleSocket: req.reusedSocket && e.code === 'ECONNRESET' }));
    if (body !== undefined) req.end(body);
    else req.end();
  });
}

/** Writes raw bytes to host:port and collects whatever comes back until close or `ms`. */
export function rawExchange(base, bytes, ms = 1500) {
  return new Promise((resolve) => {
    const u = new URL(base);
    const sock = net.connect({ host: u.hostname, port: Number(u.port) });
    const chunks = [];
    let settled = false;
    const done = (how) => {
      if (settled) return;
      settled = true;
      clearTimeout(t);
      sock.destroy();
      resolve({ text: Buffer.concat(chunks).toString('latin1'), how });
    };
    const t = setTimeout(() => done('timeout'), ms);
    sock.on('connect', () => {
      for (const b of Array.isArray(bytes) ? bytes : [bytes]) sock.write(b);
    });
    sock.on('data', (d) => chunks.push(d));
    sock.on('end', () => done('end'));
    sock.on('close', () => done('close'));
    sock.on('error', (e) => done(`error:${e.code ?? e.message}`));
  });
}

/** HTTP status of a raw response text (first line), or 0. */
export function rawStatus(text) {
  const m = /^HTTP\/1\.[01] (\d{3})/.exec(text);
  return m ? Number(m[1]) : 0;
}

/**
 * A socket.io session spoken by hand over one engine.io WebSocket: CONNECT packets with any
 * payload text, EVENT packets with any argument text and an ack id, and the answers matched up.
 */
export class RawSocketIo {
  constructor(base, { headers = {} } = {}) {
    this.base = base;
    this.headers = headers;
    this.ackId = 0;
    this.acks = new Map();
    this.connectWaiters = [];
    this.closed = false;
    this.events = [];
  }

  open(timeoutMs = 10_000) {
    const url = `${this.base.replace(/^http/, 'ws')}/socket.io/?EIO=4&transport=websocket`;
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, { headers: this.headers, maxPayload: 64 << 20 });
      this.ws = ws;
      const t = setTimeout(() => {
        ws.terminate();
        reject(new Error('engine.io open timed out'));
      }, timeoutMs);
      ws.on('message', (data) => {
        const s = data.toString();
        if (s[0] === '0') {
          clearTimeout(t);
          resolve(this);
          return;
        }
        this.onMessage(s);
      });
      ws.on('error', (e) => {
        clearTimeout(t);
        this.fail(e.message);
        reject(e);
      });
      ws.on('close', (code) => {
        clearTimeout(t);
        this.fail(`closed ${code}`);
        reject(new Error(`closed ${code}`));
      });
    });
  }

  fail(why) {
    this.closed = true;
    for (const w of this.connectWaiters.splice(0)) w.resolve({ kind: 'closed', why });
    for (const [, a] of this.acks) a.resolve({ kind: 'closed', why });
    this.acks.clear();
  }

  onMessage(s) {
    if (s === '2') {
      this.ws.send('3');
      return;
    }
    if (s[0] !== '4') return;
    const type = s[1];
    let rest = s.slice(2);
    let nsp = '/';
    if (rest[0] === '/') {
      const comma = rest.indexOf(',');
      nsp = comma < 0 ? rest : rest.slice(0, comma);
      rest = comma < 0 ? '' : rest.slice(comma + 1);
    }
    if (type === '0' || type === '4') {
      const w = this.connectWaiters.findIndex((x) => x.nsp === nsp);
      if (w >= 0) {
        const [waiter] = this.connectWaiters.splice(w, 1);
        let data;
        try {
          data = rest ? JSON.parse(rest) : undefined;
        } catch {
          data = rest;
        }
        waiter.resolve({ kind: type === '0' ? 'connected' : 'refused', data });
      }
      return;
    }
    if (type === '3') {
      const m = /^(\d+)(.*)$/s.exec(rest);
      if (!m) return;
      const a = this.acks.get(Number(m[1]));
      if (!a) return;
      this.acks.delete(Number(m[1]));
      let args;
      try {
        args = JSON.parse(m[2]);
      } catch {
        args = m[2];
      }
      a.resolve({ kind: 'ack', args });
      return;
    }
    if (type === '2') {
      if (this.events.length < 50) this.events.push(rest.slice(0, 2000));
      return;
    }
    if (type === '1') {
      // The server disconnected this namespace socket (e.g. revoked, or after an error).
      for (const w of this.connectWaiters.splice(0)) w.resolve({ kind: 'closed', why: 'namespace disconnect' });
    }
  }

  /** Sends a CONNECT with `payloadText` (anything; normally the JSON auth object). */
  connect(nsp, payloadText, timeoutMs = 10_000) {
    if (this.closed) return Promise.resolve({ kind: 'closed', why: 'already closed' });
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        const i = this.connectWaiters.indexOf(waiter);
        if (i >= 0) this.connectWaiters.splice(i, 1);
        resolve({ kind: 'timeout' });
      }, timeoutMs);
      const waiter = {
        nsp,
        resolve: (v) => {
          clearTimeout(t);
          resolve(v);
        },
      };
      this.connectWaiters.push(waiter);
      this.ws.send(`40${nsp},${payloadText ?? ''}`);
    });
  }

  disconnectNsp(nsp) {
    if (!this.closed) this.ws.send(`41${nsp},`);
  }

  /** Emits `[event, ...]` given as raw JSON array text, with an ack id; resolves with the ack. */
  emitRaw(nsp, argsText, timeoutMs = 30_000) {
    return this.withAck(timeoutMs, (id) => this.ws.send(`42${nsp},${id}${argsText}`));
  }

  /**
   * Emits a binary event: `argsText` holds `{"_placeholder":true,"num":i}` where attachment i goes;
   * the attachments follow as binary frames (the count announced may differ from those sent).
   */
  emitRawBinary(nsp, argsText, attachments, timeoutMs = 30_000, announced = attachments.length) {
    return this.withAck(timeoutMs, (id) => {
      this.ws.send(`45${announced}-${nsp},${id}${argsText}`);
      for (const a of attachments) this.ws.send(a);
    });
  }

  /** Sends with a fresh ack id; resolves with the ack, or `timeout`. */
  withAck(timeoutMs, send) {
    if (this.closed) return Promise.resolve({ kind: 'closed', why: 'already closed' });
    const id = ++this.ackId;
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.acks.delete(id);
        resolve({ kind: 'timeout' });
      }, timeoutMs);
      this.acks.set(id, {
        resolve: (v) => {
          clearTimeout(t);
          resolve(v);
        },
      });
      send(id);
    });
  }

  /** Sends a packet text as is (no answer expected). */
  sendRaw(text) {
    if (!this.closed) this.ws.send(text);
  }

  close() {
    this.closed = true;
    try {
      this.ws?.close();
    } catch {
      /* already gone */
    }
    this.fail('client close');
  }
}
