import { createHash, timingSafeEqual } from 'node:crypto';
import { configError, OAuthError, VmproError } from '../errors.js';
import { escapeHtml } from '../internal/html.js';
import type { AuthTransaction } from './types.js';

declare const validatedBrand: unique symbol;

/**
 * A callback that passed {@link OidcClient.validateCallback}. Opaque: only values created by
 * `validateCallback` are accepted by `exchangeCode` (checked at run time through a private
 * `WeakSet`, not through the shape), and each is exchanged at most once. The authorization code
 * is not a property: it cannot leak through logging or `JSON.stringify`.
 */
export interface ValidatedCallback {
  /** The `state` of the response (equal to the transaction's). */
  readonly state: string;
  /** The `iss` response parameter (RFC 9207), `null` when the server sent none. */
  readonly iss: string | null;
  /** Keycloak's `session_state` response parameter, `null` when absent. */
  readonly sessionState: string | null;
  readonly [validatedBrand]: true;
}

/** What only this module and the client know about a validated callback. */
export interface CallbackSecret {
  code: string;
  transaction: AuthTransaction;
  /** Which client validated it (a callback is exchanged by that client only). */
  owner: object;
}

const validated = new WeakMap<object, CallbackSecret>();
const spent = new WeakSet<object>();

export function brandCallback(
  fields: { state: string; iss: string | null; sessionState: string | null },
  secret: CallbackSecret,
): ValidatedCallback {
  const value = Object.freeze({ ...fields }) as ValidatedCallback;
  validated.set(value, secret);
  return value;
}

/**
 * Returns the secret part of a validated callback and marks it spent, so that a code is never
 * sent twice. Throws `VMPRO_CALLBACK_INVALID` for anything `validateCallback` did not create, for
 * another client's callback, and for a second use.
 */
export function spendCallback(value: unknown, owner: object): CallbackSecret {
  const secret = typeof value === 'object' && value !== null ? validated.get(value) : undefined;
  if (!secret || secret.owner !== owner) {
    throw new VmproError(
      'VMPRO_CALLBACK_INVALID',
      "exchangeCode() only accepts the result of this client's validateCallback(). Validate the callback first.",
    );
  }
  if (spent.has(value as object)) {
    throw new VmproError(
      'VMPRO_CALLBACK_INVALID',
      'This callback was already exchanged: an authorization code is never sent twice. Start the sign-in again.',
    );
  }
  spent.add(value as object);
  return secret;
}

function invalid(message: string): VmproError {
  return new VmproError('VMPRO_CALLBACK_INVALID', message);
}

/**
 * The response parameters of a callback: from a URL (its query, or its fragment when the query is
 * empty), `URLSearchParams`, or a string holding a query (`?a=b`), fragment contents (`#a=b`) or a
 * whole URL.
 */
export function callbackParameters(callback: URL | URLSearchParams | string): URLSearchParams {
  if (callback instanceof URLSearchParams) return new URLSearchParams(callback);
  if (callback instanceof URL) {
    if (callback.search.length > 1) return new URLSearchParams(callback.search);
    return new URLSearchParams(callback.hash.slice(1));
  }
  if (typeof callback !== 'string') {
    throw invalid('The callback must be a URL, URLSearchParams or a string.');
  }
  const text = callback.trim();
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(text)) {
    let url: URL;
    try {
      url = new URL(text);
    } catch {
      throw invalid('The callback string looks like a URL but cannot be parsed.');
    }
    return callbackParameters(url);
  }
  return new URLSearchParams(text.startsWith('?') || text.startsWith('#') ? text.slice(1) : text);
}

/** Refuses any parameter that occurs more than once (naming it, never its values). */
export function refuseDuplicates(params: URLSearchParams): void {
  const seen = new Set<string>();
  for (const key of params.keys()) {
    if (seen.has(key)) {
      throw invalid(
        `The callback has the parameter "${key}" more than once; such a response is refused (parameter injection).`,
      );
    }
    seen.add(key);
  }
}

/** Compares two strings in time that does not depend on where they differ. */
export function constantTimeEqual(a: string, b: string): boolean {
  const ha = createHash('sha256').update(a, 'utf8').digest();
  const hb = createHash('sha256').update(b, 'utf8').digest();
  return timingSafeEqual(ha, hb) && a.length === b.length;
}

/** A transaction read back from a cookie or store must still have the shape {@link AuthTransaction}. */
export function checkTransaction(transaction: unknown): AuthTransaction {
  const t = transaction as Partial<AuthTransaction> | null | undefined;
  if (
    typeof t !== 'object' ||
    t === null ||
    typeof t.state !== 'string' ||
    typeof t.nonce !== 'string' ||
    typeof t.codeVerifier !== 'string' ||
    typeof t.redirectUri !== 'string' ||
    typeof t.issuer !== 'string' ||
    typeof t.returnTo !== 'string' ||
    typeof t.createdAt !== 'number'
  ) {
    throw new VmproError(
      'VMPRO_TRANSACTION_MISSING',
      'There is no valid login transaction for this callback (missing, already used or damaged). Start the sign-in again.',
    );
  }
  return t as AuthTransaction;
}

function shortText(value: string | null): string {
  if (!value) return '';
  const clean = value.replace(/[\u0000-\u001f\u007f]/g, ' ').trim();
  return clean.length > 200 ? `${clean.slice(0, 200)}…` : clean;
}

/** The server's `error=…` answer as an `OAuthError` with code `VMPRO_AUTHORIZATION_ERROR`. */
export function authorizationError(params: URLSearchParams): OAuthError {
  const error = shortText(params.get('error')) || 'unknown_error';
  const description = params.get('error_description');
  const text = shortText(description);
  return new OAuthError(
    'VMPRO_AUTHORIZATION_ERROR',
    `The login server refused the sign-in: ${error}${text ? ` (${text})` : ''}.`,
    { error, errorDescription: description ?? undefined },
  );
}

const RELAY_SCRIPT =
  "(function(){var p=new URLSearchParams(location.hash.slice(1));var f=document.getElementById('vmpro-relay');" +
  "var n=0;p.forEach(function(v,k){var i=document.createElement('input');i.type='hidden';i.name=k;i.value=v;f.appendChild(i);n++;});" +
  "if(history.replaceState){history.replaceState(null,'',location.pathname+location.search);}" +
  "if(n>0){f.submit();}else{document.getElementById('vmpro-msg').textContent='Nothing to finish: the sign-in response is missing. Please start the sign-in again.';}})();";

/**
 * The `Content-Security-Policy` source that allows the relay page's inline script without a
 * nonce: `script-src 'sha256-…'`. The script is the same for every `postPath`.
 */
export const RELAY_PAGE_SCRIPT_HASH = `'sha256-${createHash('sha256').update(RELAY_SCRIPT, 'utf8').digest('base64')}'`;

/**
 * A tiny self-contained HTML page for callbacks that carry the response in the URL *fragment*
 * (movingimage's login page shows `…/#state=…&code=…`), which never reaches a server. Its inline
 * script reads `location.hash`, removes the fragment from the history entry, and POSTs the
 * fragment's parameters as hidden form fields to `postPath` (default `/auth/callback`), where the
 * server validates them with `validateCallback(new URLSearchParams(body), transaction)`.
 *
 * The http layer serves this page when the callback arrives with no query string (the fragment
 * is invisible to it), with `Referrer-Policy: no-referrer`, `Cache-Control: no-store` and a CSP
 * whose `script-src` includes {@link RELAY_PAGE_SCRIPT_HASH} (no nonce needed). The page loads
 * no external resources.
 *
 * @example
 * ```ts
 * if (url.search === '') return new Response(relayPageHtml(), { headers: {
 *   'content-type': 'text/html; charset=utf-8', 'referrer-policy': 'no-referrer',
 *   'content-security-policy': `default-src 'none'; script-src ${RELAY_PAGE_SCRIPT_HASH}; form-action 'self'`,
 * } });
 * ```
 */
export function relayPageHtml(opts: { postPath?: string } = {}): string {
  const postPath = opts.postPath ?? '/auth/callback';
  if (
    typeof postPath !== 'string' ||
    !postPath.startsWith('/') ||
    postPath.startsWith('//') ||
    postPath.includes('\\') ||
    /[\u0000-\u001f\u007f\s]/.test(postPath)
  ) {
    throw configError(
      'postPath',
      'of relayPageHtml must be a path starting with a single "/", like /auth/callback',
    );
  }
  return (
    '<!doctype html><html lang="en"><head><meta charset="utf-8">' +
    '<meta name="referrer" content="no-referrer">' +
    '<meta name="viewport" content="width=device-width, initial-scale=1">' +
    '<title>Signing in…</title></head><body>' +
    `<form id="vmpro-relay" method="post" action="${escapeHtml(postPath)}"></form>` +
    '<p id="vmpro-msg">Finishing the sign-in…</p>' +
    '<noscript><p>JavaScript is needed to finish the sign-in.</p></noscript>' +
    `<script>${RELAY_SCRIPT}</script>` +
    '</body></html>'
  );
}
