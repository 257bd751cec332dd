/** The logged-in user, read from GET /api/v1/auth/me once per page load and after login. */
import { api, ApiError } from './api';
import type { Me } from './nav';

class Session {
  me = $state<Me | null>(null);
  /** 'unknown' until the first /auth/me answer. */
  status = $state<'unknown' | 'in' | 'out' | 'error'>('unknown');
  error = $state('');

  async load(force = false): Promise<Me | null> {
    if (!force && this.status === 'in') return this.me;
    try {
      this.me = await api<Me>('/api/v1/auth/me', { noRedirect: true });
      this.status = 'in';
    } catch (e) {
      this.me = null;
      if (e instanceof ApiError && e.status === 401) this.status = 'out';
      else {
        this.status = 'error';
        this.error = e instanceof ApiError ? e.text : String(e);
      }
    }
    return this.me;
  }

  async login(username: string, password: string): Promise<Me> {
    const r = await api<{ user: Me }>('/api/v1/auth/login', { method: 'POST', json: { username, password }, noRedirect: true });
    this.me = r.user;
    this.status = 'in';
    return r.user;
  }

  async logout(): Promise<void> {
    try {
      await api('/api/v1/auth/logout', { method: 'POST', noRedirect: true });
    } finally {
      this.me = null;
      this.status = 'out';
    }
  }
}

export const session = new Session();
