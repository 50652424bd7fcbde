import { describe, expect, test } from 'vitest';
import { configError, isVmproError, VmproError } from './errors.js';

describe('configError', () => {
  test('words every configuration error alike and names the field', () => {
    const error = configError(
      'clientId',
      'is required',
      'pass the client id movingimage registered for your app',
    );
    expect(isVmproError(error, 'VMPRO_CONFIG_INVALID')).toBe(true);
    expect(error.field).toBe('clientId');
    expect(error.message).toBe(
      'vmpro-connect: `clientId` is required: pass the client id movingimage registered for your app.',
    );
  });

  test('ends the message with one period, with or without a fix', () => {
    expect(configError('timeoutMs', 'must be a positive finite number.').message).toBe(
      'vmpro-connect: `timeoutMs` must be a positive finite number.',
    );
    expect(configError('issuer', 'must use https://', 'use the https:// URL.').message).toBe(
      'vmpro-connect: `issuer` must use https://: use the https:// URL.',
    );
  });

  test('keeps a cause', () => {
    const cause = new Error('inner');
    expect(configError('apiBase', 'is not an absolute URL', undefined, { cause }).cause).toBe(cause);
  });
});

test('other errors carry no field', () => {
  expect(new VmproError('VMPRO_ABORTED', 'stopped').field).toBeUndefined();
});
