/**
 * The two ways a handler of the emulated API stops early: an HTTP error answer (`ApiError`) and
 * a dropped connection (`EmulatorConnectionReset`).
 */

/**
 * Thrown by the emulator's API when a `reset` fault matches: the request gets no answer at all.
 * The node server wrapper catches it and destroys the socket, so the client sees `ECONNRESET`.
 *
 * @example
 * ```ts
 * try {
 *   response = await api.handle(request);
 * } catch (error) {
 *   if (error instanceof EmulatorConnectionReset) return socket.destroy();
 *   throw error;
 * }
 * ```
 */
export class EmulatorConnectionReset extends Error {
  readonly code = 'ECONNRESET';
  constructor(message = 'The emulator dropped the connection on purpose (a "reset" fault matched).') {
    super(message);
    this.name = 'EmulatorConnectionReset';
  }
}

/** Extra parts of an error answer. */
export interface ApiErrorOptions {
  /** Application error code in the body (movingimage documents numeric and enum codes). */
  code?: number | string | undefined;
  headers?: Record<string, string> | undefined;
}

/** An error answer `{"message": …, "code"?: …}` with an HTTP status; thrown inside handlers. */
export class ApiError extends Error {
  readonly status: number;
  readonly code: number | string | undefined;
  readonly headers: Record<string, string>;
  constructor(status: number, message: string, options: ApiErrorOptions = {}) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = options.code;
    this.headers = options.headers ?? {};
  }
}

/** `400` for input the API cannot use; the message names the parameter or field. */
export function badRequest(message: string, code: number | string = 'INVALID_INPUT'): ApiError {
  return new ApiError(400, message, { code });
}

/** `404` for a thing that does not exist (or is in the trash). */
export function notFound(message: string): ApiError {
  return new ApiError(404, message);
}
