/**
 * The realm's signing keys: RS256 key pairs published at the JWKS endpoint (ID, access and
 * logout tokens), plus a symmetric key for refresh tokens, which, as in Keycloak, only the login
 * server itself ever verifies.
 */
import { randomBytes } from 'node:crypto';
import {
  type CryptoKey,
  calculateJwkThumbprint,
  exportJWK,
  generateKeyPair,
  type JWK,
  type JWTPayload,
  type JWTVerifyOptions,
  type JWTVerifyResult,
  jwtVerify,
  SignJWT,
} from 'jose';

interface RsaKey {
  kid: string;
  privateKey: CryptoKey;
  publicKey: CryptoKey;
  publicJwk: JWK;
}

/** A JSON Web Key Set as served at the `certs` endpoint. */
export interface Jwks {
  keys: JWK[];
}

async function newRsaKey(): Promise<RsaKey> {
  const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true });
  const exported = await exportJWK(publicKey);
  const kid = await calculateJwkThumbprint(exported);
  return { kid, privateKey, publicKey, publicJwk: { ...exported, kid, alg: 'RS256', use: 'sig' } };
}

/**
 * The key ring of the emulated realm. The newest RSA key signs; older keys stay published so
 * that tokens signed before a rotation still verify (like Keycloak's passive keys).
 */
export class KeyRing {
  readonly #rsa: RsaKey[];
  readonly #hmacKey: Uint8Array = randomBytes(32);
  readonly #hmacKid: string = randomBytes(8).toString('hex');

  private constructor(first: RsaKey) {
    this.#rsa = [first];
  }

  /** Creates a ring with one fresh RS256 key. */
  static async create(): Promise<KeyRing> {
    return new KeyRing(await newRsaKey());
  }

  /** Adds a new signing key; the previous ones remain in the JWKS for verification. */
  async rotate(): Promise<void> {
    this.#rsa.unshift(await newRsaKey());
  }

  /** The `kid` of the key that signs new tokens. */
  get currentKid(): string {
    return this.#current().kid;
  }

  /** The public JWKS, newest key first. */
  jwks(): Jwks {
    return { keys: this.#rsa.map((k) => ({ ...k.publicJwk })) };
  }

  /** Signs `payload` with the current RSA key (RS256). */
  async signRs256(payload: JWTPayload, typ = 'JWT'): Promise<string> {
    const key = this.#current();
    return new SignJWT(payload).setProtectedHeader({ alg: 'RS256', kid: key.kid, typ }).sign(key.privateKey);
  }

  /** Signs `payload` with the realm's symmetric key (HS256), the way Keycloak signs refresh tokens. */
  async signHs256(payload: JWTPayload): Promise<string> {
    return new SignJWT(payload)
      .setProtectedHeader({ alg: 'HS256', kid: this.#hmacKid, typ: 'JWT' })
      .sign(this.#hmacKey);
  }

  /** Verifies an RS256 token signed by any published key. Throws when it does not verify. */
  async verifyRs256(token: string, options: JWTVerifyOptions): Promise<JWTVerifyResult> {
    return jwtVerify(
      token,
      (header) => {
        const key = this.#rsa.find((k) => k.kid === header.kid);
        if (!key) throw new Error('unknown kid');
        return key.publicKey;
      },
      { ...options, algorithms: ['RS256'] },
    );
  }

  /** Verifies an HS256 token signed by this ring. Throws when it does not verify. */
  async verifyHs256(token: string, options: JWTVerifyOptions): Promise<JWTVerifyResult> {
    return jwtVerify(token, this.#hmacKey, { ...options, algorithms: ['HS256'] });
  }

  #current(): RsaKey {
    return this.#rsa[0]!;
  }
}
