/**
 * The console's session: the API key the reviewer pasted on /ui/login, kept in a cookie.
 *
 * Why a cookie and not sessionStorage (which the issue suggested): the pages must work without
 * JavaScript, and only a cookie reaches the server on a plain link or form. It is HttpOnly, so no
 * script — an injected one included — can read the key, which sessionStorage cannot promise. It has
 * no Max-Age or Expires, so it dies with the browser session like sessionStorage; Path=/ui keeps it
 * off /v1 and the probes; SameSite=Strict keeps the browser from sending it with a request another
 * site starts, the first of two CSRF defences (the Origin check in plugins/console.ts is the second).
 * The price: the key itself sits in the browser's cookie jar for the session, as it would in
 * sessionStorage; the server keeps no session state, so any replica can answer, and revoking the key
 * (`itemvec keys revoke`) ends every console session using it within the key cache's 30 s.
 */
import type { FastifyRequest } from 'fastify';

const COOKIE = 'itemvec_key';

/**
 * True when the request arrived over https, directly or (as a proxy in front says) before a
 * TLS-terminating proxy. Trusting the header costs nothing: it can only add Secure to the cookie.
 */
export const overHttps = (req: FastifyRequest) =>
  req.protocol === 'https' ||
  String(req.headers['x-forwarded-proto'] ?? '')
    .split(',')[0]!
    .trim()
    .toLowerCase() === 'https';

/** The key in a Cookie header, or null. */
export function sessionKey(header: string | undefined): string | null {
  for (const part of (header ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq === -1 || part.slice(0, eq).trim() !== COOKIE) continue;
    try {
      const value = decodeURIComponent(part.slice(eq + 1).trim());
      return value === '' ? null : value;
    } catch {
      return null;
    }
  }
  return null;
}

/** Set-Cookie for a signed-in session; `secure` when the request came over https. */
export function sessionCookie(key: string, secure: boolean): string {
  return `${COOKIE}=${encodeURIComponent(key)}; Path=/ui; HttpOnly; SameSite=Strict${secure ? '; Secure' : ''}`;
}

/** Set-Cookie that removes the session. */
export function clearedSessionCookie(secure: boolean): string {
  return `${COOKIE}=; Path=/ui; HttpOnly; SameSite=Strict; Max-Age=0${secure ? '; Secure' : ''}`;
}
