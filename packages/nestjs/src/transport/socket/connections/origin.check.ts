import type { IncomingMessage } from 'node:http';

/**
 * Whether a Socket.IO handshake may go on, by its `Origin` header: CORS headers stop a foreign
 * page's polling requests, but a browser opens a WebSocket to any origin, so the origin is checked
 * here too. Allowed: no `Origin` (not a browser: Node clients, curl), an origin of `corsOrigins`,
 * and the server's own origin (the page's host is the request's `Host`, or the `X-Forwarded-Host`
 * a proxy in front set).
 */
export function originAllowed(req: IncomingMessage, corsOrigins: readonly string[]): boolean {
  const origin = req.headers.origin;
  if (origin === undefined) return true;
  if (corsOrigins.includes(origin)) return true;
  let host: string;
  try {
    host = new URL(origin).host;
  } catch {
    return false;
  }
  const forwarded = req.headers['x-forwarded-host'];
  const hosts = [req.headers.host, ...(Array.isArray(forwarded) ? forwarded : (forwarded ?? '').split(','))].map((h) => h?.trim());
  return hosts.includes(host);
}
