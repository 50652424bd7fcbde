import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest';
import { sleep, withTimeout } from './time.js';

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('sleep', () => {
  test('resolves after the delay', async () => {
    let done = false;
    const pending = sleep(100).then(() => {
      done = true;
    });
    await vi.advanceTimersByTimeAsync(99);
    expect(done).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    await pending;
    expect(done).toBe(true);
  });

  test("rejects with the signal's reason when it aborts, and leaves no timer", async () => {
    const controller = new AbortController();
    const pending = sleep(10_000, controller.signal);
    const reason = new Error('stop');
    controller.abort(reason);
    await expect(pending).rejects.toBe(reason);
    expect(vi.getTimerCount()).toBe(0);
  });

  test('rejects at once when the signal has already aborted', async () => {
    const reason = new Error('already');
    await expect(sleep(10_000, AbortSignal.abort(reason))).rejects.toBe(reason);
    expect(vi.getTimerCount()).toBe(0);
  });
});

describe('withTimeout', () => {
  test("passes the promise's value through and clears its timer", async () => {
    await expect(withTimeout(Promise.resolve(7), 100, () => new Error('late'))).resolves.toBe(7);
    expect(vi.getTimerCount()).toBe(0);
  });

  test("passes the promise's rejection through", async () => {
    const failure = new Error('boom');
    await expect(withTimeout(Promise.reject(failure), 100, () => new Error('late'))).rejects.toBe(failure);
    expect(vi.getTimerCount()).toBe(0);
  });

  test('rejects with what onTimeout returns when the promise is too slow', async () => {
    const late = new Error('no answer within 100 ms');
    const pending = withTimeout(new Promise<never>(() => {}), 100, () => late);
    const outcome = expect(pending).rejects.toBe(late);
    await vi.advanceTimersByTimeAsync(100);
    await outcome;
  });
});
