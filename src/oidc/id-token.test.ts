import { base64url, decodeJwt, type JWTPayload, SignJWT } from 'jose';
import { describe, expect, test } from 'vitest';
import { CLIENT_ID, CLIENT_SECRET, ISSUER } from '../../test/support/fake-login-server.js';
import { expectCode, rejectionOf, setup, signIn } from '../../test/support/oidc-unit.js';

const JWKS_URL = `${ISSUER}/protocol/openid-connect/certs`;

type ClaimsMutation = (claims: JWTPayload, now: number) => JWTPayload;

function without(name: string): ClaimsMutation {
  return (claims) => {
    const copy = { ...claims };
    delete copy[name];
    return copy;
  };
}

/** One ID-token property flipped at a time; each must be refused, naming the check. */
const CLAIM_MUTATIONS: Array<[string, string, ClaimsMutation]> = [
  ['another issuer', 'iss', (c) => ({ ...c, iss: 'https://evil.example/auth/realms/platform' })],
  ['no issuer', 'iss', without('iss')],
  ['another audience', 'aud', (c) => ({ ...c, aud: 'someone-else' })],
  [
    'an extra audience without azp',
    'aud',
    (c) => ({ ...without('azp')(c, 0), aud: [CLIENT_ID, 'someone-else'] }),
  ],
  [
    'an extra audience with a foreign azp',
    'azp',
    (c) => ({ ...c, aud: [CLIENT_ID, 'someone-else'], azp: 'someone-else' }),
  ],
  ['a foreign azp', 'azp', (c) => ({ ...c, azp: 'someone-else' })],
  ['an expiry in the past', 'exp', (c, now) => ({ ...c, exp: now - 3600, iat: now - 7200 })],
  ['no expiry', 'exp', without('exp')],
  ['no iat', 'iat', without('iat')],
  ['an iat in the future', 'iat', (c, now) => ({ ...c, iat: now + 600, exp: now + 900 })],
  ['a not-before in the future', 'nbf', (c, now) => ({ ...c, nbf: now + 600 })],
  ['another nonce', 'nonce', (c) => ({ ...c, nonce: 'replayed-nonce' })],
  ['no nonce', 'nonce', without('nonce')],
  ['no subject', 'sub', without('sub')],
  ['an empty subject', 'sub', (c) => ({ ...c, sub: '' })],
];

describe('ID token from the code exchange: every check', () => {
  test.each(CLAIM_MUTATIONS)('refuses an ID token with %s (check "%s")', async (_name, check, mutate) => {
    const { client, server } = await setup();
    server.mutateIdToken = (claims) => mutate(claims, Math.floor(server.clock.now() / 1000));
    const err = await rejectionOf(signIn(server, client));
    expectCode(err, 'VMPRO_ID_TOKEN_INVALID');
    expect(err.message).toContain(`"${check}"`);
    expect(err.message).not.toContain('eyJ');
  });

  test('accepts an expiry just inside the clock tolerance', async () => {
    const { client, server } = await setup({ client: { clockToleranceSec: 30 } });
    server.mutateIdToken = (claims) => ({ ...claims, exp: Math.floor(server.clock.now() / 1000) - 10 });
    await expect(signIn(server, client)).resolves.toBeDefined();
  });

  test('accepts several audiences when azp names this client', async () => {
    const { client, server } = await setup();
    server.mutateIdToken = (claims) => ({ ...claims, aud: [CLIENT_ID, 'account'], azp: CLIENT_ID });
    await expect(signIn(server, client)).resolves.toBeDefined();
  });

  test('checks the time on the injected clock', async () => {
    const { client, server } = await setup();
    server.clock.advance(24 * 3600 * 1000); // the server (and the client) live a day ahead
    await expect(signIn(server, client)).resolves.toBeDefined();
  });
});

/** The claims a login server whose clock runs `seconds` ahead of ours would put in its tokens. */
function serverAhead(seconds: number): (claims: JWTPayload) => JWTPayload {
  return (claims) => ({
    ...claims,
    iat: (claims.iat as number) + seconds,
    exp: (claims.exp as number) + seconds,
    auth_time: (claims.auth_time as number) + seconds,
  });
}

describe('a login server whose clock runs ahead (default tolerance 60 s)', () => {
  test('signs in when the ID token was issued 45 s in the future', async () => {
    const { client, server } = await setup();
    server.mutateIdToken = serverAhead(45);
    await expect(signIn(server, client)).resolves.toBeDefined();
  });

  test('refreshes when the new ID token was issued 45 s in the future', async () => {
    const { client, server } = await setup();
    const tokens = await signIn(server, client);
    server.mutateIdToken = serverAhead(45);
    const refreshed = await client.refresh(tokens);
    expect(refreshed.claims?.sub).toBe(tokens.claims?.sub);
  });

  test('refuses an ID token issued 5 minutes in the future, naming the clocks', async () => {
    const { client, server } = await setup();
    server.mutateIdToken = serverAhead(300);
    const err = await rejectionOf(signIn(server, client));
    expectCode(err, 'VMPRO_ID_TOKEN_INVALID');
    expect(err.message).toContain('"iat"');
    expect(err.message).toMatch(/(299|300) s in the future, beyond the 60 s clock tolerance/);
  });

  test('refuses a refreshed ID token issued 5 minutes in the future', async () => {
    const { client, server } = await setup();
    const tokens = await signIn(server, client);
    server.mutateIdToken = serverAhead(300);
    expectCode(await rejectionOf(client.refresh(tokens)), 'VMPRO_ID_TOKEN_INVALID');
  });

  test('honours a smaller configured tolerance', async () => {
    const { client, server } = await setup({ client: { clockToleranceSec: 30 } });
    server.mutateIdToken = serverAhead(45);
    const err = await rejectionOf(signIn(server, client));
    expect(err.message).toContain('beyond the 30 s clock tolerance');
  });
});

describe('ID token signature', () => {
  test('refuses a token whose signature was tampered with', async () => {
    const { client, server } = await setup();
    server.mutateTokenResponse = (body) => {
      const [h, p, s] = (body.id_token as string).split('.') as [string, string, string];
      const middle = Math.floor(s.length / 2);
      const flipped = s.slice(0, middle) + (s[middle] === 'A' ? 'B' : 'A') + s.slice(middle + 1);
      return { ...body, id_token: `${h}.${p}.${flipped}` };
    };
    const err = await rejectionOf(signIn(server, client));
    expectCode(err, 'VMPRO_ID_TOKEN_INVALID');
    expect(err.message).toContain('"signature"');
  });

  test('refuses a token whose claims were changed after signing', async () => {
    const { client, server } = await setup();
    server.mutateTokenResponse = (body) => {
      const [h, , s] = (body.id_token as string).split('.') as [string, string, string];
      const claims = { ...decodeJwt(body.id_token as string), sub: 'admin' };
      const p = base64url.encode(JSON.stringify(claims));
      return { ...body, id_token: `${h}.${p}.${s}` };
    };
    const err = await rejectionOf(signIn(server, client));
    expectCode(err, 'VMPRO_ID_TOKEN_INVALID');
    expect(err.message).toContain('"signature"');
  });

  test('refuses an unsigned token (alg "none")', async () => {
    const { client, server } = await setup();
    server.mutateTokenResponse = (body) => {
      const h = base64url.encode(JSON.stringify({ alg: 'none', typ: 'JWT' }));
      const p = base64url.encode(JSON.stringify(decodeJwt(body.id_token as string)));
      return { ...body, id_token: `${h}.${p}.` };
    };
    const err = await rejectionOf(signIn(server, client));
    expectCode(err, 'VMPRO_ID_TOKEN_INVALID');
    expect(err.message).toContain('"alg"');
  });

  test('refuses an HS256 token even when the server lists HS256 and it is signed with the client secret', async () => {
    const { client, server } = await setup();
    server.mutateTokenResponse = async (body) => {
      const claims = decodeJwt(body.id_token as string);
      const forged = await new SignJWT(claims)
        .setProtectedHeader({ alg: 'HS256' })
        .sign(new TextEncoder().encode(CLIENT_SECRET));
      return { ...body, id_token: forged };
    };
    const err = await rejectionOf(signIn(server, client));
    expectCode(err, 'VMPRO_ID_TOKEN_INVALID');
    expect(err.message).toContain('"alg"');
  });

  test('refuses a token signed with an algorithm the server does not list', async () => {
    const { client, server } = await setup({
      beforeClient: (s) => {
        s.metadata.id_token_signing_alg_values_supported = ['ES256'];
      },
    });
    const err = await rejectionOf(signIn(server, client));
    expectCode(err, 'VMPRO_ID_TOKEN_INVALID');
    expect(err.message).toContain('"alg"');
  });

  test('refuses a token signed with a key the server does not publish', async () => {
    const { client, server } = await setup();
    await server.signWithUnpublishedKey();
    const err = await rejectionOf(signIn(server, client));
    expectCode(err, 'VMPRO_ID_TOKEN_INVALID');
    expect(err.message).toContain('"kid"');
  });

  test('refuses a logout token presented as an ID token', async () => {
    const { client, server } = await setup();
    server.idTokenHeader = { typ: 'logout+jwt' };
    const err = await rejectionOf(signIn(server, client));
    expectCode(err, 'VMPRO_ID_TOKEN_INVALID');
    expect(err.message).toContain('"typ"');
  });

  test('refuses an ID token that is not a JWT at all', async () => {
    const { client, server } = await setup();
    server.mutateTokenResponse = (body) => ({ ...body, id_token: 'not-a-jwt' });
    const err = await rejectionOf(signIn(server, client));
    expectCode(err, 'VMPRO_ID_TOKEN_INVALID');
  });
});

describe('JWKS cache', () => {
  test('fetches the keys once for many logins', async () => {
    const { client, server } = await setup();
    await signIn(server, client);
    await signIn(server, client);
    await signIn(server, client);
    expect(server.count('/certs')).toBe(1);
  });

  test('fetches the keys again when an unknown kid appears (key rotation)', async () => {
    const { client, server } = await setup();
    await signIn(server, client);
    server.clock.advance(31_000);
    await server.rotateKey(true);
    await expect(signIn(server, client)).resolves.toBeDefined();
    expect(server.count('/certs')).toBe(2);
  });

  test('refetches on an unknown kid at most once per cool-down', async () => {
    const { client, server } = await setup({ client: { jwksCooldownSec: 30 } });
    await signIn(server, client); // first fetch
    await server.signWithUnpublishedKey();
    server.clock.advance(31_000);
    await rejectionOf(signIn(server, client)); // refetch allowed: still unknown
    expect(server.count('/certs')).toBe(2);
    server.clock.advance(10_000);
    const err = await rejectionOf(signIn(server, client)); // within cool-down: no refetch
    expectCode(err, 'VMPRO_ID_TOKEN_INVALID');
    expect(server.count('/certs')).toBe(2);
    server.clock.advance(25_000);
    await rejectionOf(signIn(server, client)); // cool-down over: one more refetch
    expect(server.count('/certs')).toBe(3);
  });

  test('fetches the key set once for simultaneous logins', async () => {
    const { client, server } = await setup();
    await Promise.all([signIn(server, client), signIn(server, client), signIn(server, client)]);
    expect(server.count('/certs')).toBe(1);
  });

  test('keeps using the last good keys when a refresh of the key set fails', async () => {
    const { client, server, logger } = await setup();
    await signIn(server, client);
    server.override(JWKS_URL, () => new Response('down', { status: 503 }));
    server.clock.advance(11 * 60 * 1000); // older than the cache max age
    await expect(signIn(server, client)).resolves.toBeDefined();
    expect(server.count('/certs')).toBe(2);
    expect(logger.entries.some((e) => e.level === 'warn' && e.message.includes('last good keys'))).toBe(true);
  });

  test('reports an unreachable key set on first use as VMPRO_UPSTREAM_UNAVAILABLE', async () => {
    const { client, server } = await setup();
    server.override(JWKS_URL, () => new Response('down', { status: 503 }));
    const err = await rejectionOf(signIn(server, client));
    expectCode(err, 'VMPRO_UPSTREAM_UNAVAILABLE');
    expect(err.message).toContain(JWKS_URL);
  });

  test('reports a malformed key set', async () => {
    const { client, server } = await setup();
    server.override(JWKS_URL, () => Response.json({ keys: 'nope' }));
    expectCode(await rejectionOf(signIn(server, client)), 'VMPRO_UPSTREAM_UNAVAILABLE');
  });
});
