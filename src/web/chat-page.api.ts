/**
 * The sign-in calls of the chat page, made before it has a token (and so before the typed client
 * can connect): `GET /auth/config` and the development token route. Everything after sign-in goes
 * through the client.
 */

/** The outcome of asking for a development token. */
export type DevTokenOutcome = { token: string } | { unavailable: true; message: string } | { refused: true; message: string };

/** `GET /auth/config`: whether the server runs development auth; `undefined` when it does not say (older servers). */
export async function fetchDevAuth(): Promise<boolean | undefined> {
  try {
    const res = await fetch('auth/config', { headers: { Accept: 'application/json' } });
    if (!res.ok) return undefined;
    const body = (await res.json()) as { devAuth?: unknown };
    return typeof body.devAuth === 'boolean' ? body.devAuth : undefined;
  } catch {
    return undefined;
  }
}

/** What the page says to someone who types a user name on a server without development auth. */
export const NO_DEV_TOKENS_MESSAGE =
  'This server does not hand out development tokens (it verifies tokens of an identity provider or a configured secret): paste an access token instead.';

/** `POST /auth/dev-token`: a token for `userId` on a development server; 404 = development auth is off. */
export async function requestDevToken(userId: string): Promise<DevTokenOutcome> {
  const res = await fetch('auth/dev-token', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ userId }),
  });
  const body = (await res.json().catch(() => ({}))) as { token?: unknown; message?: unknown };
  if (res.ok && typeof body.token === 'string') return { token: body.token };
  if (res.status === 404) {
    return { unavailable: true, message: NO_DEV_TOKENS_MESSAGE };
  }
  return {
    refused: true,
    message: typeof body.message === 'string' ? body.message : `The server refused the sign-in (HTTP ${res.status}).`,
  };
}
