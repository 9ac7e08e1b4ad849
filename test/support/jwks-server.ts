import { exportJWK, generateKeyPair, SignJWT, type JWK, type JWTPayload, type KeyLike } from 'jose';
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/** A signing key of the fake identity provider. */
export interface ProviderKey {
  kid: string;
  alg: 'RS256' | 'RS384' | 'PS256' | 'ES256' | 'EdDSA';
  privateKey: KeyLike;
  publicKey: KeyLike;
  /** The public key as published in the JWKS. */
  jwk: JWK;
}

/** Makes a key pair with jose, as an identity provider would. */
export async function makeProviderKey(kid: string, alg: ProviderKey['alg']): Promise<ProviderKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true, crv: alg === 'EdDSA' ? 'Ed25519' : undefined });
  const jwk = { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' };
  return { kid, alg, privateKey, publicKey, jwk };
}

/** Signs a token with `key` (its `kid` in the header unless `kid` says otherwise). */
export function signWith(
  key: ProviderKey,
  payload: JWTPayload,
  options: { kid?: string | null; alg?: string; expiresIn?: number | null } = {},
): Promise<string> {
  const kid = options.kid === undefined ? key.kid : options.kid;
  const jwt = new SignJWT(payload).setProtectedHeader({ alg: options.alg ?? key.alg, typ: 'JWT', ...(kid === null ? {} : { kid }) });
  if (payload.iat === undefined) jwt.setIssuedAt();
  if (options.expiresIn !== null && payload.exp === undefined) jwt.setExpirationTime(`${options.expiresIn ?? 3600}s`);
  return jwt.sign(key.privateKey);
}

/**
 * A JWKS endpoint on loopback (`GET /.well-known/jwks.json`) whose keys a test can change, that
 * counts the fetches, and that can go down (port closed) or hang (accept, never answer).
 */
export class JwksServer {
  /** The keys currently published. */
  keys: ProviderKey[] = [];
  /** How many times the key set was requested. */
  fetches = 0;
  /** Accept requests but never answer them. */
  hang = false;
  private server?: Server;
  private readonly sockets = new Set<Socket>();
  private readonly hanging = new Set<ServerResponse>();
  private port = 0;

  get url(): string {
    return `http://127.0.0.1:${this.port}/.well-known/jwks.json`;
  }

  /** Starts serving (on the same port as before, after {@link stop}). */
  async start(): Promise<this> {
    const server = createServer((req, res) => {
      if (req.url !== '/.well-known/jwks.json') {
        res.writeHead(404).end();
        return;
      }
      this.fetches++;
      if (this.hang) {
        this.hanging.add(res);
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: this.keys.map((k) => k.jwk) }));
    });
    server.on('connection', (socket) => {
      this.sockets.add(socket);
      socket.once('close', () => this.sockets.delete(socket));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
    this.port = (server.address() as AddressInfo).port;
    this.server = server;
    return this;
  }

  /** Closes the port and every open connection: fetches now fail with ECONNREFUSED. */
  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    for (const res of this.hanging) res.destroy();
    this.hanging.clear();
    for (const socket of this.sockets) socket.destroy();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
