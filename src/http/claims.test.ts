import { describe, expect, it } from 'vitest';
import type { SessionRecord } from '../session/index.js';
import { makeTokens } from '../session/test-support.js';
import { checkRule, hasRole, missingAccess, userOf } from './claims.js';

const CLIENT = 'portal';

/** A session whose ID token claims and access token carry the given extras. */
function session(
  idClaims: Record<string, unknown>,
  accessPayload: Record<string, unknown> | null,
): SessionRecord {
  const tokens = makeTokens(Date.now());
  const accessToken =
    accessPayload === null
      ? 'an-opaque-access-token'
      : `e30.${Buffer.from(JSON.stringify(accessPayload)).toString('base64url')}.c2ln`;
  return {
    v: 1,
    id: 'x',
    version: 1,
    tokens: {
      ...tokens,
      accessToken,
      claims: { ...(tokens.claims ?? { iss: '', sub: 'user-1', aud: '', exp: 0, iat: 0 }), ...idClaims },
    },
    user: { sub: 'user-1', name: 'Dana Demo' },
    sid: null,
    createdAt: 0,
    lastSeenAt: 0,
    absoluteExpiresAt: 0,
  };
}

describe('hasRole', () => {
  it('finds realm and own-client roles in the ID token claims', () => {
    const s = session(
      { realm_access: { roles: ['editor'] }, resource_access: { portal: { roles: ['admin'] } } },
      null,
    );
    expect(hasRole(s, 'editor', CLIENT)).toBe(true);
    expect(hasRole(s, 'admin', CLIENT)).toBe(true);
    expect(hasRole(s, { client: 'portal', role: 'editor' }, CLIENT)).toBe(false);
  });

  it('finds roles in a JWT access token, and none in an opaque one', () => {
    const jwt = session(
      {},
      { realm_access: { roles: ['editor'] }, resource_access: { cms: { roles: ['publisher'] } } },
    );
    expect(hasRole(jwt, 'editor', CLIENT)).toBe(true);
    expect(hasRole(jwt, { client: 'cms', role: 'publisher' }, CLIENT)).toBe(true);
    expect(hasRole(jwt, 'publisher', CLIENT)).toBe(false);
    expect(hasRole(session({}, null), 'editor', CLIENT)).toBe(false);
  });

  it('ignores malformed role claims instead of throwing', () => {
    const s = session({ realm_access: { roles: 'editor' }, resource_access: null }, { realm_access: [1, 2] });
    expect(hasRole(s, 'editor', CLIENT)).toBe(false);
  });
});

describe('claim rules', () => {
  const s = session({ groups: ['staff', 'oncall'], email_verified: true, org: { id: 7 } }, null);

  it('match equal values, array members and nested objects', async () => {
    expect(await missingAccess(s, checkRule({ claims: { email_verified: true } }), CLIENT)).toBeNull();
    expect(await missingAccess(s, checkRule({ claims: { groups: 'staff' } }), CLIENT)).toBeNull();
    expect(await missingAccess(s, checkRule({ claims: { org: { id: 7 } } }), CLIENT)).toBeNull();
  });

  it('name the first claim that does not match', async () => {
    expect(await missingAccess(s, checkRule({ claims: { groups: 'admins' } }), CLIENT)).toBe(
      'the claim groups',
    );
    expect(await missingAccess(s, checkRule({ claims: { org: { id: 8 } } }), CLIENT)).toBe('the claim org');
  });

  it('give the stored profile precedence over the ID token in user()', () => {
    expect(userOf(s)).toEqual(
      expect.objectContaining({ sub: 'user-1', name: 'Dana Demo', groups: ['staff', 'oncall'] }),
    );
  });
});
