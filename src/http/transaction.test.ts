import { describe, expect, it } from 'vitest';
import type { AuthTransaction } from '../oidc/types.js';
import { Browser, SECRET, TestJar } from '../session/test-support.js';
import { TRANSACTION_SLOTS, transactionCookies, transactionKey } from './transaction.js';

let clock = 1_700_000_000_000;
const now = () => clock;
const cookies = transactionCookies({
  cookieName: 'vmpro',
  secrets: [SECRET],
  secure: false,
  maxAgeSec: 600,
  now,
});

function tx(state: string, createdAt = clock): AuthTransaction {
  return {
    state,
    nonce: `n-${state}`,
    codeVerifier: 'v'.repeat(43),
    redirectUri: 'http://127.0.0.1:3000/auth/callback',
    issuer: 'http://127.0.0.1:4000/auth/realms/platform',
    returnTo: `/${state}`,
    createdAt,
  };
}

describe('transaction cookies', () => {
  it('keeps up to 4 pending sign-ins of one browser in 4 fixed slots, each found by its state', async () => {
    const browser = new Browser();
    for (let i = 0; i < TRANSACTION_SLOTS; i++) await cookies.put(new TestJar(browser), tx(`s${i}`));
    expect([...browser.cookies.keys()].sort()).toEqual([
      'vmpro-tx-0',
      'vmpro-tx-1',
      'vmpro-tx-2',
      'vmpro-tx-3',
    ]);
    for (let i = TRANSACTION_SLOTS - 1; i >= 0; i--) {
      const jar = new TestJar(browser);
      expect((await cookies.take(jar, `s${i}`))?.transaction.returnTo).toBe(`/s${i}`);
      expect(jar.deleteCalls).toHaveLength(1);
    }
    expect(browser.cookies.size).toBe(0);
  });

  it('gives a fifth sign-in the oldest slot: the replaced one is gone, the others stay', async () => {
    const browser = new Browser();
    for (let i = 0; i < TRANSACTION_SLOTS; i++) {
      clock += 1000;
      await cookies.put(new TestJar(browser), tx(`s${i}`));
    }
    clock += 1000;
    await cookies.put(new TestJar(browser), tx('newest'));
    expect(browser.cookies.size).toBe(TRANSACTION_SLOTS);
    expect(await cookies.take(new TestJar(browser), 's0')).toBeNull();
    expect(await cookies.take(new TestJar(browser), 's1')).not.toBeNull();
    expect(await cookies.take(new TestJar(browser), 'newest')).not.toBeNull();
  });

  it("leaves another tab's sign-in alone, clears unreadable slots and cookies of the old naming", async () => {
    const browser = new Browser();
    await cookies.put(new TestJar(browser), tx('mine'));
    browser.cookies.set('vmpro-tx-AbCdEf0123456789', 'old-scheme');
    const free = ['vmpro-tx-0', 'vmpro-tx-1', 'vmpro-tx-2', 'vmpro-tx-3'].find(
      (n) => !browser.cookies.has(n),
    )!;
    browser.cookies.set(free, 'garbage');
    const jar = new TestJar(browser);
    expect(await cookies.take(jar, 'someone-else')).toBeNull();
    expect(jar.deleteCalls.map((d) => d.name)).toEqual([free]);
    await cookies.put(new TestJar(browser), tx('second'));
    expect(browser.cookies.has('vmpro-tx-AbCdEf0123456789')).toBe(false);
    expect(await cookies.take(new TestJar(browser), 'mine')).not.toBeNull();
  });

  it('puts a taken cookie back on restore()', async () => {
    const browser = new Browser();
    await cookies.put(new TestJar(browser), tx('s'));
    const taken = await cookies.take(new TestJar(browser), 's');
    expect(browser.cookies.size).toBe(0);
    taken!.restore();
    expect(await cookies.take(new TestJar(browser), 's')).not.toBeNull();
  });

  it('claims under a hash of the state, never the state itself', () => {
    const key = transactionKey('the-state');
    expect(key).toMatch(/^tx:[\w-]{43}$/);
    expect(key).not.toContain('the-state');
  });
});
