/**
 * `GET /.well-known/webfinger?resource={origin}/v1/` — step 1 of movingimage's endpoint
 * discovery (facts 2.2), in movingimage's exact form: the issuer link's `href` is the full
 * `…/.well-known/openid-configuration` URL, not the bare issuer.
 */
import type { Ctx, Handler } from '../context.js';
import { badRequest, notFound } from '../errors.js';
import { json } from '../http.js';
import type { Router } from '../router.js';

export const ISSUER_REL = 'http://openid.net/specs/connect/1.0/issuer';
/** How long clients may cache the JRD (`Cache-Control: max-age`). */
export const WEBFINGER_MAX_AGE_SECONDS = 3600;

/** Realm name and Keycloak base URL (`…/auth/`) taken from an issuer `…/auth/realms/platform`. */
export function keycloakParts(issuer: string): { realm: string; authServerUrl: string } {
  const match = /^(.*\/)realms\/([^/]+)\/?$/.exec(issuer);
  if (match) return { authServerUrl: match[1]!, realm: decodeURIComponent(match[2]!) };
  return { authServerUrl: `${new URL(issuer).origin}/auth/`, realm: 'platform' };
}

function webfinger(ctx: Ctx): Response {
  const resources = ctx.url.searchParams.getAll('resource');
  if (resources.length === 0) {
    throw badRequest(`WebFinger needs a "resource" parameter, e.g. ?resource=${ctx.origin}/v1/`);
  }
  if (resources.length > 1) throw badRequest('WebFinger takes one "resource" parameter.');
  // The configured public origin, or the origin the request actually reached (localhost vs
  // 127.0.0.1): the JRD then speaks of the host the client asked about.
  const known = [`${ctx.origin}/v1/`, `${ctx.url.origin}/v1/`];
  const subject = resources[0]!;
  if (!known.includes(subject)) throw notFound(`No WebFinger information for that resource; try ${known[0]}`);
  const base = subject.slice(0, -'/v1/'.length);
  const { realm, authServerUrl } = keycloakParts(ctx.issuer);
  const issuer = ctx.issuer.replace(/\/+$/, '');
  const links = [{ rel: ISSUER_REL, href: `${issuer}/.well-known/openid-configuration` }];
  // RFC 7033 4.3: `rel` parameters narrow the links (and nothing else).
  const rels = ctx.url.searchParams.getAll('rel');
  const jrd = {
    subject,
    properties: {
      [`${base}/v1/keycloak/realm`]: realm,
      [`${base}/v1/keycloak/auth-server-url`]: authServerUrl,
    },
    links: rels.length === 0 ? links : links.filter((link) => rels.includes(link.rel)),
  };
  return json(200, jrd, {
    'content-type': 'application/jrd+json',
    'cache-control': `max-age=${WEBFINGER_MAX_AGE_SECONDS}`,
    expires: new Date(ctx.now + WEBFINGER_MAX_AGE_SECONDS * 1000).toUTCString(),
    'access-control-allow-origin': '*',
  });
}

export function discoveryRoutes(router: Router<Handler>): void {
  router.add('GET', '/.well-known/webfinger', webfinger);
}
