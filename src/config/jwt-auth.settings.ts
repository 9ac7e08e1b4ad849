import { createPublicKey, type KeyObject } from 'node:crypto';
import {
  ASYMMETRIC_ALGORITHMS,
  DEFAULT_ASYMMETRIC_ALGORITHMS,
  SYMMETRIC_ALGORITHMS,
  type PipelineAuthOptions,
} from '@agent-pipeline/nestjs';

/** Where the keys that verify tokens come from. */
export type JwtAuthMode = 'development' | 'secret' | 'public-key' | 'jwks';

/** The raw `JWT_*` variables (already trimmed; blank = undefined). */
export interface JwtEnvironment {
  NODE_ENV?: string;
  JWT_SECRET?: string;
  JWT_JWKS_URL?: string;
  JWT_PUBLIC_KEY?: string;
  JWT_ISSUER?: string;
  JWT_AUDIENCE?: string;
  JWT_ALGORITHMS?: string;
  JWT_CLOCK_TOLERANCE_S: number;
  JWT_USER_CLAIM: string;
}

/**
 * Checks the combination of the `JWT_*` variables and builds the pipeline's `auth` option from
 * them. Single variables are checked by the schema; this catches what only shows up together: a
 * secret next to a JWKS URL or public key, an algorithm that cannot go with the key, a PEM that
 * does not parse. Each problem names the variable to fix.
 */
export function parseJwtAuth(env: JwtEnvironment): { auth?: PipelineAuthOptions; mode?: JwtAuthMode; problems: string[] } {
  const problems: string[] = [];
  const { JWT_SECRET: secret, JWT_JWKS_URL: jwksUrl, JWT_PUBLIC_KEY: publicKeyPem } = env;

  if (secret !== undefined && (jwksUrl !== undefined || publicKeyPem !== undefined)) {
    const other = jwksUrl !== undefined ? 'JWT_JWKS_URL' : 'JWT_PUBLIC_KEY';
    problems.push(
      `JWT_SECRET cannot be combined with ${other}: a server verifies either HS256 tokens with a shared secret or ` +
        'asymmetric tokens with public keys. Unset one of them.',
    );
  }
  if (jwksUrl !== undefined && publicKeyPem !== undefined) {
    problems.push('JWT_JWKS_URL and JWT_PUBLIC_KEY cannot both be set: give the keys either as a JWKS URL or as one PEM public key.');
  }
  if (env.NODE_ENV === 'production' && secret === undefined && jwksUrl === undefined && publicKeyPem === undefined) {
    problems.push(
      'JWT_SECRET, JWT_JWKS_URL or JWT_PUBLIC_KEY is required when NODE_ENV=production (development auth is refused in production)',
    );
  }

  const mode: JwtAuthMode =
    jwksUrl !== undefined ? 'jwks' : publicKeyPem !== undefined ? 'public-key' : secret !== undefined ? 'secret' : 'development';
  const asymmetric = mode === 'jwks' || mode === 'public-key';

  let url: URL | undefined;
  if (jwksUrl !== undefined) {
    try {
      url = new URL(jwksUrl);
      if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new Error('not http(s)');
    } catch {
      url = undefined;
      problems.push(`JWT_JWKS_URL must be an http:// or https:// URL such as https://example.eu.auth0.com/.well-known/jwks.json`);
    }
  }

  let publicKey: KeyObject | undefined;
  if (publicKeyPem !== undefined) {
    // Environment files often carry a PEM on one line with literal "\n".
    const pem = publicKeyPem.replace(/\\n/g, '\n');
    if (/PRIVATE KEY/.test(pem)) {
      problems.push('JWT_PUBLIC_KEY holds a private key: give the public key only (-----BEGIN PUBLIC KEY-----).');
    } else {
      try {
        publicKey = createPublicKey(pem);
      } catch (err) {
        problems.push(`JWT_PUBLIC_KEY is not a PEM public key (-----BEGIN PUBLIC KEY----- …): ${(err as Error).message}`);
      }
    }
  }

  const algorithms = parseList(env.JWT_ALGORITHMS) ?? (asymmetric ? DEFAULT_ASYMMETRIC_ALGORITHMS : ['HS256']);
  const known = new Set<string>([...SYMMETRIC_ALGORITHMS, ...ASYMMETRIC_ALGORITHMS]);
  const unknown = algorithms.filter((alg) => !known.has(alg));
  if (unknown.length > 0) {
    problems.push(
      `JWT_ALGORITHMS has unknown or refused algorithm${unknown.length > 1 ? 's' : ''} ${unknown.map((a) => `'${a}'`).join(', ')}: ` +
        `use ${asymmetric ? ASYMMETRIC_ALGORITHMS.join(', ') : 'HS256'} (names are case-sensitive; 'none' is never accepted)`,
    );
  } else if (asymmetric) {
    const symmetric = algorithms.filter((alg) => (SYMMETRIC_ALGORITHMS as readonly string[]).includes(alg));
    if (symmetric.length > 0) {
      problems.push(
        `JWT_ALGORITHMS cannot contain ${symmetric.join(', ')} with ${mode === 'jwks' ? 'JWT_JWKS_URL' : 'JWT_PUBLIC_KEY'}: ` +
          'a symmetric algorithm with a public key would let anyone who knows the public key sign tokens (algorithm confusion).',
      );
    } else if (publicKey && algorithmsFor(publicKey).length === 0) {
      problems.push(
        `JWT_PUBLIC_KEY is a ${describeKey(publicKey)} key, which cannot verify JWT signatures: give an RSA, EC or Ed25519 key`,
      );
    } else if (publicKey && !algorithms.some((alg) => algorithmsFor(publicKey!).includes(alg))) {
      problems.push(
        `JWT_ALGORITHMS (${algorithms.join(', ')}) has no algorithm for the ${describeKey(publicKey)} key of JWT_PUBLIC_KEY: ` +
          `add ${algorithmsFor(publicKey).join(' or ')}`,
      );
    }
  } else if (algorithms.some((alg) => alg !== 'HS256')) {
    problems.push(
      `JWT_ALGORITHMS can only be HS256 ${secret !== undefined ? 'with JWT_SECRET' : 'in development auth'} ` +
        '(asymmetric algorithms need JWT_JWKS_URL or JWT_PUBLIC_KEY)',
    );
  }

  if (problems.length > 0) return { problems };
  const claims = {
    issuer: parseList(env.JWT_ISSUER),
    audience: parseList(env.JWT_AUDIENCE),
    clockToleranceS: env.JWT_CLOCK_TOLERANCE_S,
    userClaim: env.JWT_USER_CLAIM,
    algorithms: [...new Set(algorithms)],
  };
  const auth: PipelineAuthOptions =
    mode === 'development'
      ? { development: true, clockToleranceS: claims.clockToleranceS, userClaim: claims.userClaim }
      : mode === 'secret'
        ? { jwtSecret: secret!, ...claims }
        : mode === 'jwks'
          ? { jwksUrl: url!, ...claims }
          : { publicKey: publicKey!, ...claims };
  return { problems, mode, auth };
}

function parseList(value: string | undefined): string[] | undefined {
  const items = (value ?? '')
    .split(',')
    .map((item) => item.trim())
    .filter(Boolean);
  return items.length > 0 ? items : undefined;
}

/** The JWS algorithms a public key can verify. */
function algorithmsFor(key: KeyObject): string[] {
  switch (key.asymmetricKeyType) {
    case 'rsa':
      return ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512'];
    case 'rsa-pss':
      return ['PS256', 'PS384', 'PS512'];
    case 'ec': {
      const curve = key.asymmetricKeyDetails?.namedCurve;
      return curve === 'prime256v1' ? ['ES256'] : curve === 'secp384r1' ? ['ES384'] : curve === 'secp521r1' ? ['ES512'] : [];
    }
    case 'ed25519':
    case 'ed448':
      return ['EdDSA'];
    default:
      return [];
  }
}

function describeKey(key: KeyObject): string {
  const details = key.asymmetricKeyDetails;
  if (key.asymmetricKeyType === 'ec') return `EC ${details?.namedCurve ?? ''}`.trim();
  if (details?.modulusLength) return `${key.asymmetricKeyType?.toUpperCase()} ${details.modulusLength}-bit`;
  return key.asymmetricKeyType?.toUpperCase() ?? 'unknown';
}
