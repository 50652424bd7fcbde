/**
 * The login transaction's cookie: state, nonce, PKCE verifier and return path, sealed, bound to
 * the browser that started the sign-in, and used once.
 *
 * Pending sign-ins live in a few fixed cookie slots, not in one cookie each: a browser restoring
 * 50 tabs of the app would otherwise carry 50 transaction cookies (about 30 KB), and every
 * request to the app would fail with `431` until they expired. A sign-in whose slot a newer one
 * took fails cleanly ("start again").
 */
import { createHash, randomInt } from 'node:crypto';
import type { AuthTransaction } from '../oidc/types.js';
import { type CookieAttributes, type CookieJar, sealJson, unsealJson } from '../session/index.js';

const PURPOSE = 'transaction';
/** Sign-ins one browser can have pending at once (each slot is a cookie of about 650 bytes). */
export const TRANSACTION_SLOTS = 4;

/** A transaction found for a callback, its cookie deleted from the response. */
export interface TakenTransaction {
  readonly transaction: AuthTransaction;
  /** Puts the cookie back (the callback could not use it: the browser may try again). */
  restore(): void;
}

export interface TransactionCookies {
  /** Seals `transaction` into a free slot (at random, so that logins started together spread), else the oldest. */
  put(jar: CookieJar, transaction: AuthTransaction): Promise<void>;
  /** The pending sign-in of `state`, its cookie deleted; unreadable slots are cleared on the way. */
  take(jar: CookieJar, state: string): Promise<TakenTransaction | null>;
}

export function transactionCookies(config: {
  cookieName: string;
  secrets: readonly string[];
  secure: boolean;
  maxAgeSec: number;
  now: () => number;
}): TransactionCookies {
  const secrets = [...config.secrets];
  const { now } = config;
  const attributes: CookieAttributes = {
    httpOnly: true,
    secure: config.secure,
    sameSite: 'Lax',
    path: '/',
    maxAge: config.maxAgeSec,
  };
  const prefix = `${config.cookieName}-tx-`;
  const slots = Array.from({ length: TRANSACTION_SLOTS }, (_, i) => `${prefix}${i}`);
  const unseal = (sealed: string) => unsealJson<AuthTransaction>(secrets, sealed, { purpose: PURPOSE, now });

  async function slotFor(jar: CookieJar): Promise<string> {
    for (const name of jar.names()) {
      // Cookies of an earlier naming scheme: nothing reads them any more.
      if (name.startsWith(prefix) && !slots.includes(name)) jar.delete(name, attributes);
    }
    const free = slots.filter((name) => jar.get(name) === undefined);
    if (free.length > 0) return free[randomInt(free.length)]!;
    let oldest = slots[0]!;
    let oldestAt = Number.POSITIVE_INFINITY;
    for (const name of slots) {
      const at = (await unseal(jar.get(name)!))?.createdAt ?? Number.NEGATIVE_INFINITY;
      if (at < oldestAt) [oldest, oldestAt] = [name, at];
    }
    return oldest;
  }

  return {
    async put(jar, transaction) {
      const sealed = await sealJson(secrets, transaction, {
        maxAgeSec: config.maxAgeSec,
        purpose: PURPOSE,
        now,
      });
      jar.set(await slotFor(jar), sealed, attributes);
    },
    async take(jar, state) {
      for (const name of slots) {
        const sealed = jar.get(name);
        if (sealed === undefined) continue;
        const transaction = await unseal(sealed);
        if (transaction !== null && transaction.state !== state) continue; // another tab's sign-in
        jar.delete(name, attributes);
        if (transaction !== null) return { transaction, restore: () => jar.set(name, sealed, attributes) };
      }
      return null;
    },
  };
}

/** The name a transaction is claimed under in the session store: a hash of its `state`, never the value. */
export function transactionKey(state: string): string {
  return `tx:${createHash('sha256').update(state).digest('base64url')}`;
}
