/**
 * Encrypted, authenticated, expiring JSON for cookies: JWE compact, `dir` + `A256GCM`.
 *
 * Each secret yields one key per purpose: HKDF-SHA256(secret, info `vmpro-connect ${purpose}`).
 * A seal made for one purpose therefore cannot be opened as another (a login-transaction cookie
 * is never a session cookie). The key's short hash is the JWE `kid`, so opening picks the right
 * secret of the list without trial decryption. `iat` and `exp` live in the protected header,
 * which AES-GCM authenticates.
 *
 * Sealing and opening both use jose; opening pins the algorithms (`dir`, `A256GCM`) and picks
 * the key by `kid`. Before jose sees a seal, each part must be the one canonical base64url
 * spelling of its bytes, so that one seal has exactly one spelling.
 */
import { createHash, hkdfSync } from 'node:crypto';
import { CompactEncrypt, compactDecrypt } from 'jose';
import { configError, VmproError } from '../errors.js';

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
    throw configError(
      'secrets',
      'must be a non-empty list of strings of at least 32 characters (the first encrypts, all decrypt). ' +
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
    throw configError('purpose', 'must be a non-empty string (e.g. "session").');
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
    throw configError('maxAgeSec', 'must be a positive number of seconds.');
  }
  const { kid, key } = deriveKey(secrets[0]!, options.purpose);
  const iat = Math.floor((options.now ?? Date.now)() / 1000);
  const exp = iat + Math.max(1, Math.ceil(options.maxAgeSec));
  return new CompactEncrypt(encoder.encode(JSON.stringify(payload)))
    .setProtectedHeader({ alg: 'dir', enc: 'A256GCM', kid, iat, exp })
    .encrypt(key);
}

/**
 * The bytes of unpadded base64url `text`, or `null` unless `text` is their one canonical
 * spelling. `Buffer.from(text, 'base64url')` alone skips characters outside the alphabet, reads
 * `+` `/` as `-` `_`, stops at `=` and ignores the last character's spare bits, so that endless
 * variants of a cookie would open to the same session. Cheaper than a regex over 7 KB: every
 * skipped character shortens the output, and only the last group is re-encoded.
 */
export function decodeBase64url(text: string): Buffer | null {
  // Beyond ASCII the decoder reads a character's low byte (U+0133 as "3").
  if (Buffer.byteLength(text, 'utf8') !== text.length) return null;
  const bytes = Buffer.from(text, 'base64url');
  const tail = text.length % 4;
  if (tail === 1 || bytes.length !== Math.floor((text.length * 3) / 4)) return null;
  if (text.includes('+') || text.includes('/')) return null;
  if (tail !== 0 && bytes.subarray(bytes.length - (tail - 1)).toString('base64url') !== text.slice(-tail)) {
    return null;
  }
  return bytes;
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
    // The header is authenticated as sent (it is the AAD); the other parts must be the canonical
    // spelling of their bytes (decodeBase64url), so one seal has one spelling.
    if (parts.length !== 5 || !BASE64URL.test(parts[0]!) || parts[1] !== '') return null;
    if (parts.slice(2).some((part) => decodeBase64url(part) === null)) return null;
    const keys = secrets.map((secret) => deriveKey(secret, options.purpose));
    const { plaintext, protectedHeader } = await compactDecrypt(
      sealed,
      (header) => {
        const found = keys.find((k) => k.kid === header.kid);
        if (found === undefined) throw new Error('unknown kid');
        return found.key;
      },
      { keyManagementAlgorithms: ['dir'], contentEncryptionAlgorithms: ['A256GCM'] },
    );
    const { iat, exp, crit, zip } = protectedHeader as Record<string, unknown>;
    if (crit !== undefined || zip !== undefined || typeof iat !== 'number' || typeof exp !== 'number')
      return null;
    const nowSec = (options.now ?? Date.now)() / 1000;
    if (nowSec >= exp || iat > nowSec + IAT_SKEW_SEC) return null;
    return JSON.parse(new TextDecoder().decode(plaintext)) as T;
  } catch {
    return null;
  }
}
