import { describe, expect, it } from 'vitest';
import { VmproError } from '../errors.js';
import { isVmproApiError, VmproApiError } from './errors.js';

describe('isVmproApiError', () => {
  const error = new VmproApiError('Not found', { status: 404, method: 'GET', path: '/v1/vms/1/videos/2' });

  it('recognises an API error, and not other vmpro errors or look-alikes', () => {
    expect(isVmproApiError(error)).toBe(true);
    expect(isVmproApiError(new VmproError('VMPRO_UPSTREAM_TIMEOUT', 'late'))).toBe(false);
    expect(isVmproApiError({ code: 'VMPRO_API_ERROR', status: 404 })).toBe(false);
    expect(isVmproApiError(null)).toBe(false);
  });

  it('recognises an API error from another installed copy, where instanceof fails', () => {
    // What a second copy's error looks like to this one: same brand and fields, another class.
    const foreign = Object.assign(Object.create(null), error, { status: 404 });
    Object.defineProperty(foreign, Symbol.for('vmpro-connect.VmproError'), { value: true });
    expect(foreign instanceof VmproApiError).toBe(false);
    expect(isVmproApiError(foreign)).toBe(true);
  });
});
