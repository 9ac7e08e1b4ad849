import { Logger } from '@nestjs/common';
import { exportSPKI, generateKeyPair, SignJWT, type KeyLike } from 'jose';
import * as jwt from 'jsonwebtoken';
import { createHmac } from 'node:crypto';
import { TokenRejectedError, TokenService, type VerifiedToken } from '@agent-pipeline/nestjs';
import { resolvePipelineOptions } from '../../packages/nestjs/src/pipeline.options';
import { validateEnvironment } from './validate-environment';

const SECRET = 'unit-secret-0123456789abcdef';
const now = () => Math.floor(Date.now() / 1000);
/** The token service as the server builds it from its `JWT_*` variables. */
const serviceFor = (env: Record<string, string>) => new TokenService(resolvePipelineOptions({ auth: validateEnvironment(env).app.auth }));

/** Why `sut.verify(token)` refused, or a failure when it accepted. */
async function reasonFor(sut: TokenService, token: unknown): Promise<string> {
  const outcome = await sut.verify(token).then(
    (ok) => ok,
    (err: unknown) => err,
  );
  if (!(outcome instanceof TokenRejectedError)) throw new Error(`expected a TokenRejectedError, got ${JSON.stringify(outcome)}`);
  return outcome.message;
}

describe('TokenService', () => {
  beforeAll(() => Logger.overrideLogger(false));

  describe('with a public key', () => {
    let privateKey: KeyLike;
    let pem: string;
    let sut: TokenService;
    /** `exp: null` = a token without exp. */
    const sign = (claims: Record<string, unknown>, exp: number | null = now() + 60) => {
      const token = new SignJWT(claims).setProtectedHeader({ alg: 'ES256' });
      if (exp !== null) token.setExpirationTime(exp);
      return token.sign(privateKey);
    };

    beforeAll(async () => {
      const pair = await generateKeyPair('ES256', { extractable: true });
      privateKey = pair.privateKey;
      pem = await exportSPKI(pair.publicKey);
      sut = serviceFor({ JWT_PUBLIC_KEY: pem, JWT_ISSUER: 'https://idp.test/', JWT_AUDIENCE: 'api', JWT_CLOCK_TOLERANCE_S: '5' });
    });

    it('resolves the user and the expiry in ms', async () => {
      const exp = now() + 120;
      const verified: VerifiedToken = await sut.verify(await sign({ sub: 'u1', iss: 'https://idp.test/', aud: 'api' }, exp));
      expect(verified).toEqual({ userId: 'u1', expiresAt: exp * 1000 });
    });

    it('leaves expiresAt out for a token without exp', async () => {
      const verified = await sut.verify(await sign({ sub: 'u1', iss: 'https://idp.test/', aud: 'api' }, null));
      expect(verified).toEqual({ userId: 'u1' });
      expect('expiresAt' in verified).toBe(false);
    });

    it.each<[string, () => Promise<unknown> | unknown, RegExp]>([
      ['no token', () => undefined, /missing/],
      ['an oversized token', () => 'x'.repeat(9000), /oversized/],
      ['an expired token', () => sign({ sub: 'u1', iss: 'https://idp.test/', aud: 'api' }, now() - 60), /ERR_JWT_EXPIRED/],
      [
        'a token of another issuer',
        () => sign({ sub: 'u1', iss: 'https://evil.test/', aud: 'api' }),
        /ERR_JWT_CLAIM_VALIDATION_FAILED.*iss/,
      ],
      [
        'a token for another audience',
        () => sign({ sub: 'u1', iss: 'https://idp.test/', aud: 'web' }),
        /ERR_JWT_CLAIM_VALIDATION_FAILED.*aud/,
      ],
      ['a token without sub', () => sign({ iss: 'https://idp.test/', aud: 'api' }), /'sub' claim must be a user id of 1–128 characters/],
      [
        'an HS256 token made with the public key (algorithm confusion)',
        () => {
          const unsigned = `${Buffer.from('{"alg":"HS256"}').toString('base64url')}.${Buffer.from(JSON.stringify({ sub: 'u1', iss: 'https://idp.test/', aud: 'api' })).toString('base64url')}`;
          return `${unsigned}.${createHmac('sha256', pem).update(unsigned).digest('base64url')}`;
        },
        /ERR_JOSE_ALG_NOT_ALLOWED/,
      ],
    ])('refuses %s and says why', async (_name, token, reason) => {
      expect(await reasonFor(sut, await token())).toMatch(reason);
    });

    it('cannot sign: only the identity provider can', () => {
      expect(sut.devAuth).toBe(false);
      expect(() => sut.sign('u1')).toThrow(/public key: only the identity provider can/);
    });
  });

  describe('with a secret', () => {
    const sut = serviceFor({ JWT_SECRET: SECRET });

    it('signs HS256 tokens it accepts, and accepts tokens signed elsewhere with the secret', async () => {
      expect(sut.devAuth).toBe(false);
      const token = sut.sign('s1', 60);
      expect(jwt.decode(token, { complete: true })).toMatchObject({ header: { alg: 'HS256' }, payload: { sub: 's1' } });
      expect(await sut.verify(token)).toEqual({ userId: 's1', expiresAt: expect.any(Number) });
      expect(await sut.verify(jwt.sign({ sub: 's2' }, SECRET, { algorithm: 'HS256' }))).toEqual({ userId: 's2' });
    });

    it('refuses other HMAC algorithms and other secrets', async () => {
      expect(await reasonFor(sut, jwt.sign({ sub: 's1' }, SECRET, { algorithm: 'HS512' }))).toMatch(/ERR_JOSE_ALG_NOT_ALLOWED/);
      expect(await reasonFor(sut, jwt.sign({ sub: 's1' }, `${SECRET}-other`, { algorithm: 'HS256' }))).toMatch(
        /ERR_JWS_SIGNATURE_VERIFICATION_FAILED/,
      );
    });
  });

  describe('in development auth', () => {
    it('signs with a random secret of its own: another instance refuses its tokens', async () => {
      const one = serviceFor({});
      const two = serviceFor({});
      expect(one.devAuth).toBe(true);
      const token = one.sign('dev');
      expect(await one.verify(token)).toMatchObject({ userId: 'dev' });
      await expect(two.verify(token)).rejects.toBeInstanceOf(TokenRejectedError);
    });

    it('puts the user in JWT_USER_CLAIM when it is not sub', async () => {
      const sut = serviceFor({ JWT_USER_CLAIM: 'uid' });
      const token = sut.sign('dev-uid');
      expect(jwt.decode(token)).toMatchObject({ uid: 'dev-uid' });
      expect(await sut.verify(token)).toMatchObject({ userId: 'dev-uid' });
    });
  });
});
