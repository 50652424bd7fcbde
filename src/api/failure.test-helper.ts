/** Test helper (not shipped API): the VmproError a call fails with. */
import { VmproError } from '../errors.js';

/** Awaits `promise` and returns the `VmproError` it rejected with; anything else fails the test. */
export async function failure(promise: Promise<unknown>): Promise<VmproError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof VmproError) return error;
    throw error;
  }
  throw new Error('expected the call to fail');
}
