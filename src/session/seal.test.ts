import { createCipheriv, hkdfSync, randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { CompactEncrypt, compactDecrypt, decodeProtectedHeader } from 'jose';
import { describe, expect, it } from 'vitest';
import { isVmproError } from '../errors.js';
import { decodeBase64url, sealJson, unsealJson } from './seal.js';
import { clock, OLD_SECRET, SECRET } from './test-support.js';

const payload = { state: 'abc', nested: { n: 1, list: [1, 'two', null] } };

describe('sealJson / unsealJson', () => {
  it('round-trips a JSON payload for the same purpose', async () => {
    const sealed = await sealJson([SECRET], payload, { purpose: 'transaction', maxAgeSec: 60 });
    expect(await unsealJson([SECRET], sealed, { purpose: 'transaction' })).toEqual(payload);
  });

  it('produces a JWE (dir, A256GCM) whose protected header carries kid, iat and exp but not the payload', async () => {
    const c = clock();
    const sealed = await sealJson([SECRET], payload, { purpose: 'session', maxAgeSec: 600, now: c.now });
    const header = decodeProtectedHeader(sealed);
    expect(header).toMatchObject({
      alg: 'dir',
      enc: 'A256GCM',
      iat: c.now() / 1000,
      exp: c.now() / 1000 + 600,
    });
    expect(typeof header.kid).toBe('string');
    expect(sealed).not.toContain('abc');
    expect(Buffer.from(sealed.split('.')[3]!, 'base64url').toString()).not.toContain('abc');
  });

  it('opens a seal made with an older secret that is still in the list (rotation)', async () => {
    const sealed = await sealJson([OLD_SECRET], payload, { purpose: 'session', maxAgeSec: 60 });
    expect(await unsealJson([SECRET, OLD_SECRET], sealed, { purpose: 'session' })).toEqual(payload);
  });

  it('seals with the first secret of the list', async () => {
    const sealed = await sealJson([SECRET, OLD_SECRET], payload, { purpose: 'session', maxAgeSec: 60 });
    expect(await unsealJson([SECRET], sealed, { purpose: 'session' })).toEqual(payload);
    expect(await unsealJson([OLD_SECRET], sealed, { purpose: 'session' })).toBeNull();
  });

  it('refuses a seal made with a secret that is no longer in the list', async () => {
    const sealed = await sealJson([OLD_SECRET], payload, { purpose: 'session', maxAgeSec: 60 });
    expect(await unsealJson([SECRET], sealed, { purpose: 'session' })).toBeNull();
  });

  it('refuses a seal made for another purpose', async () => {
    const sealed = await sealJson([SECRET], payload, { purpose: 'transaction', maxAgeSec: 60 });
    expect(await unsealJson([SECRET], sealed, { purpose: 'session' })).toBeNull();
  });

  it('refuses an expired seal', async () => {
    const c = clock();
    const sealed = await sealJson([SECRET], payload, { purpose: 'session', maxAgeSec: 60, now: c.now });
    c.advance(59_000);
    expect(await unsealJson([SECRET], sealed, { purpose: 'session', now: c.now })).toEqual(payload);
    c.advance(1_000);
    expect(await unsealJson([SECRET], sealed, { purpose: 'session', now: c.now })).toBeNull();
  });

  it('refuses a seal whose ciphertext, tag or header was altered', async () => {
    const sealed = await sealJson([SECRET], payload, { purpose: 'session', maxAgeSec: 60 });
    const parts = sealed.split('.');
    const flip = (s: string) => {
      const bytes = Buffer.from(s, 'base64url');
      bytes[0] = bytes[0]! ^ 1;
      return bytes.toString('base64url');
    };
    for (const index of [0, 2, 3, 4]) {
      const altered = parts.map((part, i) => (i === index ? flip(part) : part)).join('.');
      expect(await unsealJson([SECRET], altered, { purpose: 'session' })).toBeNull();
    }
  });

  it('refuses every other spelling of a seal: characters outside base64url, the standard alphabet, padding, spare bits', async () => {
    // Found by test/reliability/fuzz.test.ts: Node's base64url decoder skips such characters,
    // so `vmpro.0=ab!cd…` opened to the same session as `vmpro.0=abcd…`.
    const sealed = await sealJson([SECRET], payload, { purpose: 'session', maxAgeSec: 60 });
    const parts = sealed.split('.');
    const variant = (index: number, change: (part: string) => string) =>
      parts.map((part, i) => (i === index ? change(part) : part)).join('.');
    /** The tag's last character with its spare bits set: the same 16 bytes to a lenient decoder. */
    const spareBits = (tag: string) => {
      const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
      return tag.slice(0, -1) + alphabet[alphabet.indexOf(tag.at(-1)!) | 0b11]!;
    };
    const variants = [
      variant(3, (c) => `${c.slice(0, 10)}!${c.slice(10)}`),
      variant(3, (c) => `${c.slice(0, 10)} ${c.slice(10)}`),
      variant(2, (iv) => `${iv}$`),
      variant(4, (tag) => `${tag}=`),
      variant(2, (iv) => `${iv}A`), // 17 characters: a lone last character is dropped
      variant(4, spareBits),
      variant(3, (c) => (/[-_]/.test(c) ? c.replace(/-/g, '+').replace(/_/g, '/') : `${c}+`)),
    ];
    expect(await unsealJson([SECRET], sealed, { purpose: 'session' })).toEqual(payload);
    for (const v of variants) {
      expect(v).not.toBe(sealed);
      expect(await unsealJson([SECRET], v, { purpose: 'session' })).toBeNull();
    }
  });

  it('refuses a seal whose header was re-written to extend its expiry', async () => {
    const c = clock();
    const sealed = await sealJson([SECRET], payload, { purpose: 'session', maxAgeSec: 60, now: c.now });
    const [header, ...rest] = sealed.split('.');
    const decoded = JSON.parse(Buffer.from(header!, 'base64url').toString());
    decoded.exp += 3600;
    const forged = [Buffer.from(JSON.stringify(decoded)).toString('base64url'), ...rest].join('.');
    c.advance(120_000);
    expect(await unsealJson([SECRET], forged, { purpose: 'session', now: c.now })).toBeNull();
  });

  it('is a standard JWE: jose opens it with the documented key derivation, and it opens what jose seals', async () => {
    const key = new Uint8Array(hkdfSync('sha256', SECRET, new Uint8Array(0), 'vmpro-connect session', 32));
    const sealed = await sealJson([SECRET], payload, { purpose: 'session', maxAgeSec: 60 });
    const { plaintext } = await compactDecrypt(sealed, key);
    expect(JSON.parse(new TextDecoder().decode(plaintext))).toEqual(payload);
    const { kid, iat, exp } = decodeProtectedHeader(sealed);
    const byJose = await new CompactEncrypt(new TextEncoder().encode(JSON.stringify(payload)))
      .setProtectedHeader({ alg: 'dir', enc: 'A256GCM', kid: kid as string, iat, exp })
      .encrypt(key);
    expect(await unsealJson([SECRET], byJose, { purpose: 'session' })).toEqual(payload);
  });

  it('refuses a seal with a truncated authentication tag', async () => {
    const sealed = await sealJson([SECRET], payload, { purpose: 'session', maxAgeSec: 60 });
    const parts = sealed.split('.');
    parts[4] = Buffer.from(parts[4]!, 'base64url').subarray(0, 12).toString('base64url');
    expect(await unsealJson([SECRET], parts.join('.'), { purpose: 'session' })).toBeNull();
  });

  it('refuses a correctly encrypted seal that declares critical extensions it does not understand', async () => {
    const key = hkdfSync('sha256', SECRET, new Uint8Array(0), 'vmpro-connect session', 32);
    const { kid, iat, exp } = decodeProtectedHeader(
      await sealJson([SECRET], 1, { purpose: 'session', maxAgeSec: 60 }),
    );
    const seal = (extra: Record<string, unknown>) => {
      const header = Buffer.from(
        JSON.stringify({ alg: 'dir', enc: 'A256GCM', kid, iat, exp, ...extra }),
      ).toString('base64url');
      const iv = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', Buffer.from(key), iv);
      cipher.setAAD(Buffer.from(header, 'ascii'));
      const ciphertext = Buffer.concat([cipher.update('{"ok":true}'), cipher.final()]);
      return [header, '', iv, ciphertext, cipher.getAuthTag()]
        .map((part) => (typeof part === 'string' ? part : part.toString('base64url')))
        .join('.');
    };
    expect(await unsealJson([SECRET], seal({}), { purpose: 'session' })).toEqual({ ok: true });
    expect(await unsealJson([SECRET], seal({ crit: ['x'], x: 1 }), { purpose: 'session' })).toBeNull();
  });

  it('returns null, never throws, for garbage input', async () => {
    for (const garbage of [
      '',
      'x',
      'a.b.c.d.e',
      '....',
      'not base64!.x.y.z.w',
      'eyJhbGciOiJub25lIn0..x.y.z',
    ]) {
      expect(await unsealJson([SECRET], garbage, { purpose: 'session' })).toBeNull();
    }
    expect(await unsealJson([SECRET], undefined as unknown as string, { purpose: 'session' })).toBeNull();
  });

  it('rejects a secret shorter than 32 characters, naming `secrets`', async () => {
    const error = await sealJson(['short'], payload, { purpose: 'session', maxAgeSec: 60 }).catch((e) => e);
    expect(isVmproError(error, 'VMPRO_CONFIG_INVALID')).toBe(true);
    expect(error.message).toContain('secrets[0]');
    expect(error.message).not.toContain('short');
  });
});

describe('decodeBase64url', () => {
  it('accepts exactly the canonical spelling of some bytes', () => {
    const reference = (text: string) => {
      const bytes = Buffer.from(text, 'base64url');
      return bytes.toString('base64url') === text ? bytes : null;
    };
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        expect(decodeBase64url(Buffer.from(bytes).toString('base64url'))).toEqual(Buffer.from(bytes));
      }),
    );
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string({ unit: fc.constantFrom(...'AQgw_-+/=!. %Zz09'), maxLength: 24 }),
          fc.string({ unit: 'binary', maxLength: 24 }),
        ),
        (text) => {
          expect(decodeBase64url(text)).toEqual(reference(text));
        },
      ),
      { numRuns: 2000 },
    );
    // What Node's decoder alone lets through, each the same bytes as "AAAA" or "AAA":
    for (const lenient of ['AA!AA', 'AAAA=', 'AAAAA', 'AAB', '\u0141AAA', 'AA AA']) {
      expect(decodeBase64url(lenient)).toBeNull();
    }
  });
});
