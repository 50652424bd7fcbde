/**
 * Encrypted, authenticated, expiring JSON for cookies: JWE compact, `dir` + `A256GCM`.
 *
 * Each secret yields one key per purpose: HKDF-SHA256(secret, info `vmpro-connect ${purpose}`).
 * A seal made for one purpose therefore cannot be opened as another (a login-transaction cookie
 * is never a session cookie). The key's short hash is the JWE `kid`, so opening picks the right
 * secret of the list without trial decryption. `iat` and `exp` live in the protected header,
 * which AES-GCM authenticates.
 *
 * Sealing uses jose. Opening — on every request for the cookie store — decrypts the same
 * standard JWE with `node:crypto` directly: a synchronous AES-256-GCM decipher is more than ten
 * times faster than jose's WebCrypto round trip for a 7 KB session.
 */
import { createDecipheriv, createHash, hkdfSync } from 'node:crypto';
import { CompactEncrypt } from 'jose';
import { VmproError } from '../errors.js';

interface DerivedKey {
  kid: string;
  key: Uint8Array;
}

const derivedKeys = new Map<string, DerivedKey>();
const MAX_CACHED_KEYS = 256;
const encoder = new TextEncoder();
const BASE64URL = /^[A-Za-z0-9_-]*$/;
/** A seal larger than this is not ours (and not worth decrypting). */
const MAX_SEALED_LENGTH = 256 * 1024;
/** Tolerated clock difference for `iat` in the future (several servers). */
const IAT_SKEW_SEC = 60;

/** Throws `VMPRO_CONFIG_INVALID` naming `secrets` unless every secret is a string of ≥ 32 characters. */
export function assertSecrets(secrets: unknown): asserts secrets is string[] {
  if (!Array.isArray(secrets) || secrets.length === 0) {
    throw new VmproError(
      'VMPRO_CONFIG_INVALID',
      '`secrets` must be a non-empty list of strings of at least 32 characters (the first encrypts, all decrypt). ' +
        'Generate one with `openssl rand -base64 48`.',
    );
  }
  secrets.forEach((secret, index) => {
    if (typeof secret !== 'string' || secret.length < 32) {
      throw new VmproError(
        'VMPRO_CONFIG_INVALID',
        `\`secrets[${index}]\` is ${typeof secret === 'string' ? `only ${secret.length} characters long` : 'not a string'}; ` +
          'every secret must have at least 32 characters. Generate one with `openssl rand -base64 48`.',
      );
    }
  });
}

function assertPurpose(purpose: unknown): asserts purpose is string {
  if (typeof purpose !== 'string' || purpose.length === 0) {
    throw new VmproError('VMPRO_CONFIG_INVALID', '`purpose` must be a non-empty string (e.g. "session").');
  }
}

function deriveKey(secret: string, purpose: string): DerivedKey {
  const cacheKey = `${purpose}\u0000${secret}`;
  let derived = derivedKeys.get(cacheKey);
  if (derived === undefined) {
    const key = new Uint8Array(hkdfSync('sha256', secret, new Uint8Array(0), `vmpro-connect ${purpose}`, 32));
    const kid = createHash('sha256').update(key).digest('base64url').slice(0, 16);
    derived = { kid, key };
    if (derivedKeys.size >= MAX_CACHED_KEYS) derivedKeys.clear();
    derivedKeys.set(cacheKey, derived);
  }
  return derived;
}

/**
 * Encrypts `payload` (JSON) with the first secret for one purpose and a maximum age.
 *
 * @example
 * ```ts
 * const sealed = await sealJson(secrets, transaction, { purpose: 'transaction', maxAgeSec: 600 })
 * const back = await unsealJson<AuthTransaction>(secrets, sealed, { purpose: 'transaction' })
 * ```
 */
export async function sealJson(
  secrets: string[],
  payload: unknown,
  options: { maxAgeSec: number; purpose: string; now?: () => number },
): Promise<string> {
  assertSecrets(secrets);
  assertPurpose(options.purpose);
  if (!Number.isFinite(options.maxAgeSec) || options.maxAgeSec <= 0) {
    throw new VmproError('VMPRO_CONFIG_INVALID', '`maxAgeSec` must be a positive number of seconds.');
  }
  const { kid, key } = deriveKey(secrets[0]!, options.purpose);
  const iat = Math.floor((options.now ?? Date.now)() / 1000);
  const exp = iat + Math.max(1, Math.ceil(options.maxAgeSec));
  return new CompactEncrypt(encoder.encode(JSON.stringify(payload)))
    .setProtectedHeader({ alg: 'dir', enc: 'A256GCM', kid, iat, exp })
    .encrypt(key);
}

/**
 * Opens a seal made by `sealJson` with any of `secrets` (rotation) for the same purpose.
 * `null` for anything tampered, expired, sealed with an unknown secret or for another purpose —
 * it never throws for bad input.
 */
export async function unsealJson<T>(
  secrets: string[],
  sealed: string,
  options: { purpose: string; now?: () => number },
): Promise<T | null> {
  assertSecrets(secrets);
  assertPurpose(options.purpose);
  if (typeof sealed !== 'string' || sealed.length === 0 || sealed.length > MAX_SEALED_LENGTH) return null;
  try {
    const parts = sealed.split('.');
    // Only the header's characters matter beyond decoding: it is authenticated as sent. The
    // other parts decode to the bytes AES-GCM authenticates (checking 7 KB by regex costs more
    // than decrypting it).
    if (parts.length !== 5 || !BASE64URL.test(parts[0]!)) return null;
    const [encodedHeader, encryptedKey, iv, ciphertext, tag] = parts as [
      string,
      string,
      string,
      string,
      string,
    ];
    const header: unknown = JSON.parse(Buffer.from(encodedHeader, 'base64url').toString('utf8'));
    if (typeof header !== 'object' || header === null) return null;
    const { alg, enc, kid, iat, exp, crit, zip } = header as Record<string, unknown>;
    if (alg !== 'dir' || enc !== 'A256GCM' || typeof kid !== 'string' || encryptedKey !== '') return null;
    if (crit !== undefined || zip !== undefined || typeof iat !== 'number' || typeof exp !== 'number')
      return null;
    const candidate = secrets.map((secret) => deriveKey(secret, options.purpose)).find((k) => k.kid === kid);
    if (candidate === undefined) return null;
    const ivBytes = Buffer.from(iv, 'base64url');
    const tagBytes = Buffer.from(tag, 'base64url');
    if (ivBytes.length !== 12 || tagBytes.length !== 16) return null;
    const decipher = createDecipheriv('aes-256-gcm', candidate.key, ivBytes, { authTagLength: 16 });
    // The protected header, as sent, is the additional authenticated data (RFC 7516 §5.1).
    decipher.setAAD(Buffer.from(encodedHeader, 'ascii'));
    decipher.setAuthTag(tagBytes);
    const plaintext = Buffer.concat([
      decipher.update(Buffer.from(ciphertext, 'base64url')),
      decipher.final(),
    ]);
    const nowSec = (options.now ?? Date.now)() / 1000;
    if (nowSec >= exp || iat > nowSec + IAT_SKEW_SEC) return null;
    return JSON.parse(plaintext.toString('utf8')) as T;
  } catch {
    return null;
  }
}
