/**
 * The dashboard's one HTTP client for the hub's REST API (same origin, session cookie
 * `jg_session`). Errors come back as `ApiError` with the hub's error code and a Chinese message
 * for the screen; a 401 sends the user to /login (and back here after logging in).
 */
import { goto } from '$app/navigation';
import { errorText } from './errors';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly body: unknown,
  ) {
    super(message);
  }
  /** Text for the screen, in its language. */
  get text(): string {
    return errorText(this.status, this.code, this.message);
  }
}

/** Where to go back to after logging in. */
export function loginUrl(): string {
  const here = typeof location === 'undefined' ? '/' : `${location.pathname}${location.search}`;
  return here.startsWith('/login') ? '/login' : `/login?next=${encodeURIComponent(here)}`;
}

let redirecting = false;

export async function api<T>(path: string, init: RequestInit & { json?: unknown; noRedirect?: boolean } = {}): Promise<T> {
  const { json, noRedirect, ...rest } = init;
  const headers = new Headers(rest.headers);
  headers.set('accept', 'application/json');
  if (json !== undefined) headers.set('content-type', 'application/json');
  let res: Response;
  try {
    res = await fetch(path, { credentials: 'same-origin', ...rest, headers, body: json !== undefined ? JSON.stringify(json) : rest.body });
  } catch (e) {
    throw new ApiError(0, 'NETWORK', e instanceof Error ? e.message : String(e), null);
  }
  const text = await res.text();
  let body: unknown = null;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    body = text;
  }
  if (!res.ok) {
    const err = (body as { error?: { code?: string; message?: string } } | null)?.error;
    const e = new ApiError(res.status, err?.code ?? `HTTP_${res.status}`, err?.message ?? res.statusText, body);
    if (res.status === 401 && !noRedirect && !redirecting && typeof location !== 'undefined' && !location.pathname.startsWith('/login')) {
      redirecting = true;
      void goto(loginUrl()).finally(() => (redirecting = false));
    }
    throw e;
  }
  return body as T;
}

/** Builds a query string from defined values. */
export function qs(params: Record<string, string | number | boolean | undefined | null>): string {
  const u = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') u.set(k, String(v));
  const s = u.toString();
  return s ? `?${s}` : '';
}
