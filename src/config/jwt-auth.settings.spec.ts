import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { validateEnvironment } from './validate-environment';

const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const x25519 = generateKeyPairSync('x25519');
const pem = (key: { publicKey: { export(o: object): string | Buffer } }) =>
  key.publicKey.export({ type: 'spki', format: 'pem' }).toString();
const RSA_PEM = pem(rsa);
const EC_PEM = pem(ec);
const SECRET = 'a-secret-of-at-least-16-chars';
const JWKS = 'https://idp.example.com/.well-known/jwks.json';

/** The pipeline's `auth` option the server builds from these variables. */
const authOf = (env: Record<string, string>) => validateEnvironment(env).app.auth as Record<string, unknown>;
const problemOf = (env: Record<string, string>): string => {
  try {
    validateEnvironment(env);
  } catch (err) {
    return (err as Error).message;
  }
  throw new Error(`expected ${JSON.stringify(Object.keys(env))} to be refused`);
};

describe('JWT_* settings', () => {
  describe('modes and defaults', () => {
    it('is development auth with none of the key settings, outside production', () => {
      const app = validateEnvironment({}).app;
      expect(app.devAuth).toBe(true);
      expect(app.authMode).toBe('development');
      expect(app.auth).toEqual({ development: true, clockToleranceS: 5, userClaim: 'sub' });
    });

    it('is secret mode with JWT_SECRET: HS256 only, not development auth', () => {
      const app = validateEnvironment({ JWT_SECRET: SECRET }).app;
      expect(app.devAuth).toBe(false);
      expect(app.authMode).toBe('secret');
      expect(app.auth).toEqual({ jwtSecret: SECRET, algorithms: ['HS256'], clockToleranceS: 5, userClaim: 'sub' });
    });

    it('is JWKS mode with JWT_JWKS_URL: the asymmetric default algorithms, lists of issuers and audiences', () => {
      const app = validateEnvironment({
        JWT_JWKS_URL: JWKS,
        JWT_ISSUER: 'https://idp.example.com/, https://old-idp.example.com/',
        JWT_AUDIENCE: 'api',
        JWT_CLOCK_TOLERANCE_S: '30',
        JWT_USER_CLAIM: 'https://example.com/user_id',
      }).app;
      expect(app.devAuth).toBe(false);
      expect(app.authMode).toBe('jwks');
      expect(app.auth).toEqual({
        jwksUrl: new URL(JWKS),
        algorithms: ['RS256', 'PS256', 'ES256', 'EdDSA'],
        issuer: ['https://idp.example.com/', 'https://old-idp.example.com/'],
        audience: ['api'],
        clockToleranceS: 30,
        userClaim: 'https://example.com/user_id',
      });
    });

    it('is public-key mode with JWT_PUBLIC_KEY, also when the PEM is on one line with literal \\n', () => {
      const app = validateEnvironment({ JWT_PUBLIC_KEY: EC_PEM.trim().replace(/\n/g, '\\n'), JWT_ALGORITHMS: 'ES256' }).app;
      expect(app.devAuth).toBe(false);
      expect(app.authMode).toBe('public-key');
      expect(app.auth).toMatchObject({ algorithms: ['ES256'] });
      expect((app.auth as { publicKey: KeyObject }).publicKey.asymmetricKeyType).toBe('ec');
    });

    it('accepts a JWKS URL in production', () => {
      expect(validateEnvironment({ NODE_ENV: 'production', JWT_JWKS_URL: JWKS }).app.authMode).toBe('jwks');
    });

    it('treats blank variables as unset', () => {
      expect(authOf({ JWT_SECRET: SECRET, JWT_JWKS_URL: '  ', JWT_PUBLIC_KEY: '', JWT_USER_CLAIM: ' ' })).toMatchObject({
        jwtSecret: SECRET,
        userClaim: 'sub',
      });
    });
  });

  describe('refused combinations, each naming the setting', () => {
    it.each<[string, Record<string, string>, RegExp]>([
      ['a secret with a JWKS URL', { JWT_SECRET: SECRET, JWT_JWKS_URL: JWKS }, /JWT_SECRET cannot be combined with JWT_JWKS_URL/],
      ['a secret with a public key', { JWT_SECRET: SECRET, JWT_PUBLIC_KEY: RSA_PEM }, /JWT_SECRET cannot be combined with JWT_PUBLIC_KEY/],
      [
        'a JWKS URL with a public key',
        { JWT_JWKS_URL: JWKS, JWT_PUBLIC_KEY: RSA_PEM },
        /JWT_JWKS_URL and JWT_PUBLIC_KEY cannot both be set/,
      ],
      [
        'an unknown algorithm',
        { JWT_JWKS_URL: JWKS, JWT_ALGORITHMS: 'RS256,RS257' },
        /JWT_ALGORITHMS has unknown or refused algorithm 'RS257'/,
      ],
      ['alg none', { JWT_JWKS_URL: JWKS, JWT_ALGORITHMS: 'none' }, /JWT_ALGORITHMS has unknown or refused algorithm 'none'/],
      [
        'an algorithm in the wrong case',
        { JWT_SECRET: SECRET, JWT_ALGORITHMS: 'hs256' },
        /JWT_ALGORITHMS has unknown or refused algorithm 'hs256'/,
      ],
      [
        'HS256 with a JWKS URL',
        { JWT_JWKS_URL: JWKS, JWT_ALGORITHMS: 'RS256,HS256' },
        /JWT_ALGORITHMS cannot contain HS256 with JWT_JWKS_URL/,
      ],
      [
        'HS512 with a public key',
        { JWT_PUBLIC_KEY: RSA_PEM, JWT_ALGORITHMS: 'HS512' },
        /JWT_ALGORITHMS cannot contain HS512 with JWT_PUBLIC_KEY/,
      ],
      ['RS256 with a secret', { JWT_SECRET: SECRET, JWT_ALGORITHMS: 'RS256' }, /JWT_ALGORITHMS can only be HS256 with JWT_SECRET/],
      ['HS384 with a secret', { JWT_SECRET: SECRET, JWT_ALGORITHMS: 'HS384' }, /JWT_ALGORITHMS can only be HS256 with JWT_SECRET/],
      [
        'an algorithm that does not fit the public key',
        { JWT_PUBLIC_KEY: RSA_PEM, JWT_ALGORITHMS: 'ES256' },
        /JWT_ALGORITHMS \(ES256\) has no algorithm for the RSA 2048-bit key of JWT_PUBLIC_KEY/,
      ],
      ['a key that cannot sign', { JWT_PUBLIC_KEY: pem(x25519) }, /JWT_PUBLIC_KEY is a X25519 key, which cannot verify/],
      ['a public key that is not PEM', { JWT_PUBLIC_KEY: 'not a key' }, /JWT_PUBLIC_KEY is not a PEM public key/],
      [
        'a private key as public key',
        { JWT_PUBLIC_KEY: rsa.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString() },
        /JWT_PUBLIC_KEY holds a private key/,
      ],
      ['a JWKS URL that is not a URL', { JWT_JWKS_URL: 'idp.example.com/jwks' }, /JWT_JWKS_URL must be an http:\/\/ or https:\/\/ URL/],
      [
        'a JWKS URL that is not http(s)',
        { JWT_JWKS_URL: 'ftp://idp.example.com/jwks' },
        /JWT_JWKS_URL must be an http:\/\/ or https:\/\/ URL/,
      ],
      [
        'a negative clock tolerance',
        { JWT_SECRET: SECRET, JWT_CLOCK_TOLERANCE_S: '-1' },
        /JWT_CLOCK_TOLERANCE_S must be an integer between 0 and 3600/,
      ],
      [
        'a clock tolerance that is not a number',
        { JWT_SECRET: SECRET, JWT_CLOCK_TOLERANCE_S: '5s' },
        /JWT_CLOCK_TOLERANCE_S must be an integer/,
      ],
      ['a user claim with spaces', { JWT_SECRET: SECRET, JWT_USER_CLAIM: 'user id' }, /JWT_USER_CLAIM must be a claim name/],
      [
        'no key at all in production',
        { NODE_ENV: 'production' },
        /JWT_SECRET, JWT_JWKS_URL or JWT_PUBLIC_KEY is required when NODE_ENV=production/,
      ],
    ])('refuses %s', (_name, env, message) => {
      expect(problemOf(env)).toMatch(message);
    });

    it('lists a bad combination together with the other bad variables', () => {
      const message = problemOf({ JWT_SECRET: SECRET, JWT_JWKS_URL: JWKS, PORT: 'eighty' });
      expect(message).toMatch(/PORT must be an integer/);
      expect(message).toMatch(/JWT_SECRET cannot be combined with JWT_JWKS_URL/);
    });

    it('does not print the secret or the key in the message', () => {
      const message = problemOf({ JWT_SECRET: SECRET, JWT_PUBLIC_KEY: RSA_PEM });
      expect(message).not.toContain(SECRET);
      expect(message).not.toContain(RSA_PEM.split('\n')[1]);
    });
  });
});
