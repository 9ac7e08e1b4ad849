import { createPublicKey, type KeyObject } from 'node:crypto';

/** What a valid token says about its bearer. */
export interface VerifiedToken {
  /** The user id, 1–128 characters: every run, thread and room of the pipeline belongs to one. */
  userId: string;
  /** When the token expires, in ms since the epoch; a socket is closed then (`session_expired`). */
  expiresAt?: number;
}

/** Claims checked on JWTs, whichever key verifies them. */
export interface JwtClaimOptions {
  /** Accepted `iss` value(s); unset = not checked. */
  issuer?: string | string[];
  /** Accepted `aud` value(s) (a token needs one of them); unset = not checked. */
  audience?: string | string[];
  /** Leeway for `exp` and `nbf` (and, with `verify`, for its `expiresAt`), in seconds. @default 5 (0 with `verify`) */
  clockToleranceS?: number;
  /** The claim that holds the user id. @default 'sub' */
  userClaim?: string;
}

/** Accepted `alg` values; `none` is always refused, and a symmetric one never goes with a public key. */
export interface JwtAlgorithmOptions {
  /** @default ['HS256'] with a secret; ['RS256', 'PS256', 'ES256', 'EdDSA'] with a JWKS URL or public key */
  algorithms?: string[];
}

/**
 * How the pipeline authenticates sockets and HTTP calls; exactly one of:
 *
 * - `{ verify(token) }`: the app's own tokens; resolve the user, or `null` to refuse;
 * - `{ jwtSecret }`: HS256 JWTs signed with a shared secret;
 * - `{ jwksUrl }`: asymmetric JWTs verified with the keys of an identity provider's JWKS URL
 *   (cached, refetched on an unknown `kid` at most every 30 s);
 * - `{ publicKey }`: asymmetric JWTs verified with one PEM public key;
 * - `{ development: true }`: a random secret per process and `POST /auth/dev-token` handing tokens to
 *   anyone — never in production.
 */
export type PipelineAuthOptions =
  | ({ verify: (token: string) => Promise<VerifiedToken | null> | VerifiedToken | null } & Pick<JwtClaimOptions, 'clockToleranceS'>)
  | ({ jwtSecret: string } & JwtClaimOptions & JwtAlgorithmOptions)
  | ({ jwksUrl: string | URL } & JwtClaimOptions & JwtAlgorithmOptions)
  | ({ publicKey: string | KeyObject } & JwtClaimOptions & JwtAlgorithmOptions)
  | ({ development: true } & Pick<JwtClaimOptions, 'userClaim' | 'clockToleranceS'>);

/** Where the keys that verify tokens come from. */
export type AuthMode = 'custom' | 'development' | 'secret' | 'public-key' | 'jwks';

/** {@link PipelineAuthOptions} checked and with their defaults, as the token service uses them. */
export interface ResolvedAuth {
  readonly mode: AuthMode;
  readonly verify?: (token: string) => Promise<VerifiedToken | null> | VerifiedToken | null;
  readonly secret?: string;
  readonly jwksUrl?: URL;
  readonly publicKey?: KeyObject;
  readonly issuers: string[];
  readonly audiences: string[];
  readonly algorithms: string[];
  readonly clockToleranceS: number;
  readonly userClaim: string;
}

/** Algorithms verified with a shared secret; only HS256 is accepted. */
export const SYMMETRIC_ALGORITHMS = ['HS256', 'HS384', 'HS512'] as const;
/** Algorithms verified with a public key. */
export const ASYMMETRIC_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'] as const;
/** The algorithms accepted with a JWKS URL or a public key when `algorithms` is not given. */
export const DEFAULT_ASYMMETRIC_ALGORITHMS = ['RS256', 'PS256', 'ES256', 'EdDSA'];

const MODES = ['verify', 'jwtSecret', 'jwksUrl', 'publicKey', 'development'] as const;

/**
 * Checks the `auth` option and applies its defaults. Throws an error naming the option to fix:
 * none or several of the modes, a wrong type, an algorithm that cannot go with the key.
 */
export function resolveAuthOptions(auth: PipelineAuthOptions | undefined): ResolvedAuth {
  if (auth === undefined || auth === null || typeof auth !== 'object') {
    throw new Error(
      "AgentPipelineModule: the 'auth' option is required: { verify(token) } for your own tokens, { jwtSecret }, { jwksUrl }, { publicKey }, or { development: true }.",
    );
  }
  const given = MODES.filter((mode) => (auth as Record<string, unknown>)[mode] !== undefined);
  if (given.length !== 1) {
    throw new Error(
      given.length === 0
        ? `AgentPipelineModule: 'auth' needs one of ${MODES.map((m) => `auth.${m}`).join(', ')}.`
        : `AgentPipelineModule: 'auth' takes one way of verifying tokens, not ${given.map((m) => `auth.${m}`).join(' and ')}.`,
    );
  }
  const options = auth as Record<string, unknown> & JwtClaimOptions & JwtAlgorithmOptions;
  const claims = {
    issuers: listOption(options.issuer, 'auth.issuer'),
    audiences: listOption(options.audience, 'auth.audience'),
    // The app's own verify() says exactly when its tokens expire; JWT clocks get the usual leeway.
    clockToleranceS: options.clockToleranceS ?? (given[0] === 'verify' ? 0 : 5),
    userClaim: options.userClaim ?? 'sub',
  };
  if (!Number.isFinite(claims.clockToleranceS) || claims.clockToleranceS < 0) {
    throw new Error("AgentPipelineModule: 'auth.clockToleranceS' must be a number of seconds ≥ 0.");
  }
  if (typeof claims.userClaim !== 'string' || claims.userClaim === '') {
    throw new Error("AgentPipelineModule: 'auth.userClaim' must be a claim name such as 'sub'.");
  }
  switch (given[0]) {
    case 'verify':
      if (typeof options.verify !== 'function')
        throw new Error("AgentPipelineModule: 'auth.verify' must be a function (token) => { userId } | null.");
      return { mode: 'custom', verify: options.verify as ResolvedAuth['verify'], ...claims, algorithms: [] };
    case 'development':
      if (options.development !== true) throw new Error("AgentPipelineModule: 'auth.development' must be true.");
      return { mode: 'development', ...claims, algorithms: ['HS256'] };
    case 'jwtSecret': {
      if (typeof options.jwtSecret !== 'string' || options.jwtSecret.length < 16) {
        throw new Error("AgentPipelineModule: 'auth.jwtSecret' must be a string of at least 16 characters.");
      }
      const algorithms = options.algorithms ?? ['HS256'];
      const wrong = algorithms.filter((alg) => alg !== 'HS256');
      if (wrong.length > 0)
        throw new Error(`AgentPipelineModule: 'auth.algorithms' with a secret may only be HS256, not ${wrong.join(', ')}.`);
      return { mode: 'secret', secret: options.jwtSecret, ...claims, algorithms };
    }
    case 'jwksUrl': {
      let url: URL;
      try {
        url = options.jwksUrl instanceof URL ? options.jwksUrl : new URL(String(options.jwksUrl));
      } catch {
        url = new URL('invalid:');
      }
      if (url.protocol !== 'http:' && url.protocol !== 'https:') {
        throw new Error(
          "AgentPipelineModule: 'auth.jwksUrl' must be an http:// or https:// URL such as https://example.eu.auth0.com/.well-known/jwks.json.",
        );
      }
      return { mode: 'jwks', jwksUrl: url, ...claims, algorithms: asymmetricAlgorithms(options.algorithms) };
    }
    case 'publicKey': {
      let key: KeyObject;
      try {
        key = typeof options.publicKey === 'string' ? createPublicKey(options.publicKey) : (options.publicKey as KeyObject);
      } catch (err) {
        throw new Error(`AgentPipelineModule: 'auth.publicKey' is not a PEM public key: ${(err as Error).message}`, { cause: err });
      }
      if (key?.type !== 'public')
        throw new Error("AgentPipelineModule: 'auth.publicKey' must be a public key (-----BEGIN PUBLIC KEY-----).");
      return { mode: 'public-key', publicKey: key, ...claims, algorithms: asymmetricAlgorithms(options.algorithms) };
    }
  }
  throw new Error('unreachable');
}

function asymmetricAlgorithms(algorithms: string[] | undefined): string[] {
  const list = algorithms ?? DEFAULT_ASYMMETRIC_ALGORITHMS;
  const wrong = list.filter((alg) => !(ASYMMETRIC_ALGORITHMS as readonly string[]).includes(alg));
  if (list.length === 0 || wrong.length > 0) {
    throw new Error(
      `AgentPipelineModule: 'auth.algorithms' with a JWKS URL or public key must be among ${ASYMMETRIC_ALGORITHMS.join(', ')}` +
        (wrong.length > 0 ? `, not ${wrong.join(', ')}` : '') +
        ' (a symmetric algorithm with a public key would let anyone sign tokens).',
    );
  }
  return [...new Set(list)];
}

function listOption(value: string | string[] | undefined, name: string): string[] {
  if (value === undefined) return [];
  const list = Array.isArray(value) ? value : [value];
  if (list.some((item) => typeof item !== 'string' || item === ''))
    throw new Error(`AgentPipelineModule: '${name}' must be a string or a list of strings.`);
  return list;
}

/** One line for the start-up log: which keys verify tokens and which claims are checked. */
export function describeAuth(auth: ResolvedAuth): string {
  if (auth.mode === 'custom') return "Token verification: the app's own verify(token) function.";
  const source = {
    development: 'development auth (random per-process HS256 secret, POST /auth/dev-token enabled)',
    secret: 'shared secret',
    'public-key': auth.publicKey ? `public key (${describeKey(auth.publicKey)})` : 'public key',
    jwks: `JWKS URL ${auth.jwksUrl?.href}`,
  }[auth.mode];
  const checks = [
    `algorithms ${auth.algorithms.join(', ')}`,
    `issuer ${auth.issuers.length > 0 ? auth.issuers.join(' | ') : 'not checked'}`,
    `audience ${auth.audiences.length > 0 ? auth.audiences.join(' | ') : 'not checked'}`,
    `user claim '${auth.userClaim}'`,
    `clock tolerance ${auth.clockToleranceS} s`,
  ];
  return `Token verification: ${source}; ${checks.join('; ')}.`;
}

function describeKey(key: KeyObject): string {
  const details = key.asymmetricKeyDetails;
  if (key.asymmetricKeyType === 'ec') return `EC ${details?.namedCurve ?? ''}`.trim();
  if (details?.modulusLength) return `${key.asymmetricKeyType?.toUpperCase()} ${details.modulusLength}-bit`;
  return key.asymmetricKeyType?.toUpperCase() ?? 'unknown';
}
