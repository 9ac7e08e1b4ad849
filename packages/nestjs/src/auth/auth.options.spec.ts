import { Logger } from '@nestjs/common';
import { generateKeyPairSync } from 'node:crypto';
import * as jwt from 'jsonwebtoken';
import { resolvePipelineOptions } from '../pipeline.options';
import { describeAuth, resolveAuthOptions, type PipelineAuthOptions } from './auth.options';
import { TokenRejectedError, TokenService } from './token.service';

const RSA_PEM = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey.export({ type: 'spki', format: 'pem' }).toString();
const SECRET = 'a-secret-of-at-least-16-chars';
const serviceFor = (auth: PipelineAuthOptions) => new TokenService(resolvePipelineOptions({ auth }));

async function refusal(sut: TokenService, token: unknown): Promise<string> {
  const outcome = await sut.verify(token).then(
    (ok) => ok,
    (err: unknown) => err,
  );
  if (!(outcome instanceof TokenRejectedError)) throw new Error(`expected a refusal, got ${JSON.stringify(outcome)}`);
  return outcome.message;
}

describe('auth option', () => {
  beforeAll(() => Logger.overrideLogger(false));

  it('applies the defaults of each mode', () => {
    expect(resolveAuthOptions({ jwtSecret: SECRET })).toMatchObject({
      mode: 'secret',
      algorithms: ['HS256'],
      userClaim: 'sub',
      clockToleranceS: 5,
      issuers: [],
    });
    expect(
      resolveAuthOptions({ jwksUrl: 'https://idp.example.com/jwks', issuer: 'https://idp.example.com/', audience: ['a', 'b'] }),
    ).toMatchObject({
      mode: 'jwks',
      algorithms: ['RS256', 'PS256', 'ES256', 'EdDSA'],
      issuers: ['https://idp.example.com/'],
      audiences: ['a', 'b'],
    });
    expect(resolveAuthOptions({ publicKey: RSA_PEM, userClaim: 'email' })).toMatchObject({ mode: 'public-key', userClaim: 'email' });
    expect(resolveAuthOptions({ development: true })).toMatchObject({ mode: 'development' });
    expect(resolveAuthOptions({ verify: () => null })).toMatchObject({ mode: 'custom' });
  });

  it.each([
    [{}, "'auth' needs one of auth.verify, auth.jwtSecret, auth.jwksUrl, auth.publicKey, auth.development"],
    [{ verify: () => null, jwtSecret: SECRET }, 'not auth.verify and auth.jwtSecret'],
    [{ verify: 'yes' }, "'auth.verify' must be a function"],
    [{ development: false }, "'auth.development' must be true"],
    [{ jwtSecret: 'short' }, "'auth.jwtSecret' must be a string of at least 16 characters"],
    [{ jwksUrl: 'not a url' }, "'auth.jwksUrl' must be an http:// or https:// URL"],
    [{ publicKey: RSA_PEM, algorithms: ['HS256'] }, "'auth.algorithms' with a JWKS URL or public key must be among RS256"],
    [{ jwksUrl: 'https://idp.example.com/jwks', algorithms: [] }, "'auth.algorithms' with a JWKS URL or public key must be among"],
    [{ jwtSecret: SECRET, issuer: [''] }, "'auth.issuer' must be a string or a list of strings"],
    [{ jwtSecret: SECRET, clockToleranceS: -1 }, "'auth.clockToleranceS' must be a number of seconds ≥ 0"],
  ])('refuses %j, naming the option', (auth, message) => {
    expect(() => resolveAuthOptions(auth as PipelineAuthOptions)).toThrow(message);
  });

  it('says in one line which keys verify tokens and what is checked', () => {
    const line = describeAuth(
      resolveAuthOptions({ jwksUrl: 'https://idp.example.com/jwks', issuer: 'https://idp.example.com/', audience: 'api' }),
    );
    expect(line).toContain('JWKS URL https://idp.example.com/jwks');
    expect(line).toContain('issuer https://idp.example.com/');
    expect(line).toContain('audience api');
    expect(describeAuth(resolveAuthOptions({ jwtSecret: SECRET }))).toMatch(/shared secret.*issuer not checked.*audience not checked/);
    expect(describeAuth(resolveAuthOptions({ publicKey: RSA_PEM }))).toMatch(/public key \(RSA 2048-bit\)/);
    expect(describeAuth(resolveAuthOptions({ development: true }))).toMatch(/development auth/);
    expect(describeAuth(resolveAuthOptions({ verify: () => null }))).toBe("Token verification: the app's own verify(token) function.");
  });

  describe("the app's own verify(token)", () => {
    const sut = serviceFor({
      verify: async (token) => {
        if (token === 'throws') throw new Error('database down');
        if (token === 'long') return { userId: 'x'.repeat(129) };
        if (token === 'expired') return { userId: 'eve', expiresAt: Date.now() - 1000 };
        if (token === 'later') return { userId: 'ann', expiresAt: Date.now() + 60_000 };
        return token.startsWith('user:') ? { userId: token.slice(5) } : null;
      },
    });

    it('accepts what it resolves, with the expiry it gives', async () => {
      expect(await sut.verify('user:alice')).toEqual({ userId: 'alice' });
      expect(await sut.verify('later')).toEqual({ userId: 'ann', expiresAt: expect.any(Number) });
      expect(sut.devAuth).toBe(false);
    });

    it('refuses null, a throw, a bad user id and an expired answer, without calling it for an oversized token', async () => {
      expect(await refusal(sut, 'nope')).toBe('auth.verify refused the token');
      expect(await refusal(sut, 'throws')).toBe('auth.verify threw: database down');
      expect(await refusal(sut, 'long')).toBe('auth.verify must resolve a userId of 1–128 characters');
      expect(await refusal(sut, 'expired')).toBe('the token has expired (auth.verify)');
      expect(await refusal(sut, 'x'.repeat(9000))).toBe('missing or oversized token');
      expect(await refusal(sut, undefined)).toBe('missing or oversized token');
    });

    it('cannot sign tokens', () => {
      expect(() => sut.sign('alice')).toThrow("Cannot sign tokens with auth.verify: the app's own tokens come from the app.");
    });
  });

  it('verifies HS256 tokens with jwtSecret and never accepts alg none', async () => {
    const sut = serviceFor({ jwtSecret: SECRET, userClaim: 'uid' });
    expect(await sut.verify(jwt.sign({ uid: 'bo' }, SECRET, { algorithm: 'HS256' }))).toEqual({ userId: 'bo' });
    const none = `${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from('{"uid":"bo"}').toString('base64url')}.`;
    expect(await refusal(sut, none)).toMatch(/alg|JWS/i);
  });
});
