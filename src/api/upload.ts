import { isVmproError, VmproError } from '../errors.js';
import { isLoopbackHost } from '../internal/url.js';
import { redactedPath, VmproApiError } from './errors.js';
import { backoffDelay } from './retry.js';
import type { Transport } from './transport.js';

/** What `videos.upload()` can read the file from. Streams need `size`. */
export type UploadSource =
  | Blob
  | Uint8Array
  | ArrayBuffer
  | ReadableStream<Uint8Array>
  | AsyncIterable<Uint8Array>;

export interface UploadOptions {
  /**
   * Bytes per chunk (default 4 MiB; movingimage recommends 2–10 MB). Each chunk is held in
   * memory while it is sent, so that a failed chunk can be sent again.
   */
  chunkSize?: number | undefined;
  /**
   * Total size in bytes. Required for a stream or async iterable (the upload protocol needs
   * the number of chunks up front); checked against the bytes the stream gives.
   */
  size?: number | undefined;
  /** Called after each chunk the upload server accepted, with the bytes sent so far. */
  onProgress?: (sent: number, total: number) => void;
  signal?: AbortSignal | undefined;
  /** Retries per chunk after a network error, a timeout, 429 or 5xx (default 3). */
  chunkRetries?: number | undefined;
  /** Timeout per chunk in ms (default 120 000). */
  timeoutMs?: number | undefined;
  /**
   * An upload URL from `videos.uploadUrl()`. Without it the client asks for one, and asks for
   * a fresh one once if the upload server refuses it (the URL is valid for 4 hours).
   */
  uploadUrl?: string | undefined;
}

export interface UploadResult {
  /** Number of chunks sent. */
  chunks: number;
  /** Number of bytes sent. */
  bytes: number;
}

export const DEFAULT_CHUNK_SIZE = 4 * 1024 * 1024;
const DEFAULT_CHUNK_RETRIES = 3;
const DEFAULT_CHUNK_TIMEOUT_MS = 120_000;
const SERVICE = 'VideoManager Pro upload server';
const EXPIRED_HINT =
  'the upload URL has expired (it is valid for 4 hours) or is not valid: get a new one with videos.uploadUrl()';

function invalid(message: string): VmproError {
  return new VmproError('VMPRO_CONFIG_INVALID', message);
}

/** Checks an upload URL: https, or plain http on a loopback host (the emulator). */
export function parseUploadUrl(value: string): URL {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw invalid('The upload URL is not an absolute URL.');
  }
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && isLoopbackHost(url.hostname))) {
    throw invalid(
      `The upload URL must use https (plain http only on a loopback host), got ${url.protocol}//${url.host}.`,
    );
  }
  return url;
}

async function* chunksOf(
  source: UploadSource,
  total: number,
  chunkSize: number,
): AsyncGenerator<Uint8Array | Blob, void, undefined> {
  if (source instanceof Blob) {
    for (let start = 0; start < total; start += chunkSize) yield source.slice(start, start + chunkSize);
    return;
  }
  if (source instanceof ArrayBuffer) {
    yield* chunksOf(new Uint8Array(source), total, chunkSize);
    return;
  }
  if (source instanceof Uint8Array) {
    for (let start = 0; start < total; start += chunkSize) yield source.subarray(start, start + chunkSize);
    return;
  }
  // A stream: collect exactly chunkSize bytes per chunk (the last one may be shorter).
  let buffer = new Uint8Array(Math.min(chunkSize, total));
  let filled = 0;
  let read = 0;
  for await (const piece of iterate(source)) {
    let offset = 0;
    read += piece.byteLength;
    if (read > total) {
      throw invalid(`The upload stream gave more bytes than the size it was given (${total}).`);
    }
    while (offset < piece.byteLength) {
      const take = Math.min(buffer.byteLength - filled, piece.byteLength - offset);
      buffer.set(piece.subarray(offset, offset + take), filled);
      filled += take;
      offset += take;
      if (filled === buffer.byteLength) {
        yield buffer;
        buffer = new Uint8Array(Math.min(chunkSize, total - read + (piece.byteLength - offset)));
        filled = 0;
      }
    }
  }
  if (read < total) {
    throw invalid(`The upload stream ended after ${read} bytes, but its size was given as ${total}.`);
  }
}

async function* iterate(
  source: ReadableStream<Uint8Array> | AsyncIterable<Uint8Array>,
): AsyncGenerator<Uint8Array> {
  if (source instanceof ReadableStream) {
    const reader = source.getReader();
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        yield value;
      }
    } finally {
      reader.releaseLock();
    }
  }
  for await (const piece of source as AsyncIterable<Uint8Array>) {
    if (!(piece instanceof Uint8Array))
      throw invalid('The upload stream gave something other than Uint8Array chunks.');
    yield piece;
  }
}

function sizeOf(source: UploadSource, size: number | undefined): number {
  let known: number | undefined;
  if (source instanceof Blob) known = source.size;
  else if (source instanceof ArrayBuffer || source instanceof Uint8Array) known = source.byteLength;
  else if (
    !(source instanceof ReadableStream) &&
    !(typeof source === 'object' && source !== null && Symbol.asyncIterator in source)
  ) {
    throw invalid(
      'The upload source must be a Blob, a Buffer/Uint8Array, an ArrayBuffer, a ReadableStream or an async iterable of Uint8Array.',
    );
  }
  if (known === undefined) {
    if (size === undefined) {
      throw invalid(
        'Pass `size` (in bytes) to upload a stream: the upload protocol needs the number of chunks up front.',
      );
    }
    known = size;
  } else if (size !== undefined && size !== known) {
    throw invalid(`The upload option size (${size}) differs from the source's size (${known}).`);
  }
  if (!Number.isSafeInteger(known) || known <= 0) {
    throw invalid('The upload source is empty; there is nothing to upload.');
  }
  return known;
}

/**
 * Sends a file to a video in chunks, per movingimage's upload flow: `POST <upload URL>` with
 * `Content-Type: application/octet-stream`, `Mi24-Upload-Total-Chunks: N` and
 * `Mi24-Upload-Current-Chunk: i` (1-based). The upload URL carries its own `__token__`, so the
 * bearer token is never sent there. Any 2xx accepts a chunk.
 */
export async function uploadChunks(
  transport: Transport,
  source: UploadSource,
  options: UploadOptions,
  getUploadUrl: (() => Promise<string>) | undefined,
): Promise<UploadResult> {
  const chunkSize = options.chunkSize ?? DEFAULT_CHUNK_SIZE;
  if (!Number.isSafeInteger(chunkSize) || chunkSize < 1)
    throw invalid('The upload option chunkSize must be a positive integer.');
  const chunkRetries = options.chunkRetries ?? DEFAULT_CHUNK_RETRIES;
  if (!Number.isSafeInteger(chunkRetries) || chunkRetries < 0) {
    throw invalid('The upload option chunkRetries must be a non-negative integer.');
  }
  const timeoutMs = options.timeoutMs ?? DEFAULT_CHUNK_TIMEOUT_MS;
  if (!Number.isFinite(timeoutMs) || timeoutMs <= 0)
    throw invalid('The upload option timeoutMs must be a positive number.');
  const total = sizeOf(source, options.size);
  const totalChunks = Math.ceil(total / chunkSize);
  const signal = options.signal;
  const { config } = transport;

  let url: URL;
  if (options.uploadUrl !== undefined) url = parseUploadUrl(options.uploadUrl);
  else if (getUploadUrl !== undefined) url = parseUploadUrl(await getUploadUrl());
  else throw invalid('No upload URL: pass `uploadUrl`.');
  let renewedUrl = options.uploadUrl !== undefined;

  let sent = 0;
  let index = 0;
  for await (const chunk of chunksOf(source, total, chunkSize)) {
    index += 1;
    const bytes = chunk instanceof Blob ? chunk.size : chunk.byteLength;
    let retries = 0;
    for (;;) {
      if (signal?.aborted) {
        throw new VmproError('VMPRO_ABORTED', `The upload was aborted by the caller after ${sent} bytes.`, {
          cause: signal.reason,
        });
      }
      try {
        await transport.exchange({
          method: 'POST',
          url,
          auth: false,
          service: SERVICE,
          headers: {
            'content-type': 'application/octet-stream',
            'mi24-upload-total-chunks': String(totalChunks),
            'mi24-upload-current-chunk': String(index),
          },
          body: chunk as BodyInit,
          signal,
          timeoutMs,
          noRetry: true,
          hints: { 401: EXPIRED_HINT, 403: EXPIRED_HINT },
        });
        break;
      } catch (error) {
        if (
          error instanceof VmproApiError &&
          (error.status === 401 || error.status === 403) &&
          !renewedUrl &&
          getUploadUrl !== undefined
        ) {
          renewedUrl = true;
          url = parseUploadUrl(await getUploadUrl());
          continue;
        }
        const transient =
          (error instanceof VmproApiError && (error.status === 429 || error.status >= 500)) ||
          isVmproError(error, 'VMPRO_UPSTREAM_UNAVAILABLE') ||
          isVmproError(error, 'VMPRO_UPSTREAM_TIMEOUT');
        if (!transient || retries >= chunkRetries) throw withChunk(error, index, totalChunks, url);
        const retryAfterMs =
          error instanceof VmproApiError && error.retryAfter !== undefined
            ? error.retryAfter * 1000
            : undefined;
        const delayMs = retryAfterMs ?? backoffDelay(retries, config.retry.backoffLimitMs, config.random);
        if (delayMs > config.retry.budgetMs) throw withChunk(error, index, totalChunks, url);
        retries += 1;
        config.logger.warn('vmpro upload chunk retry', {
          path: redactedPath(url),
          chunk: index,
          totalChunks,
          attempt: retries + 1,
          delayMs,
          code: (error as VmproError).code,
        });
        try {
          await config.sleep(delayMs, signal);
        } catch (cause) {
          if (signal?.aborted) {
            throw new VmproError(
              'VMPRO_ABORTED',
              `The upload was aborted by the caller after ${sent} bytes.`,
              { cause },
            );
          }
          throw cause;
        }
      }
    }
    sent += bytes;
    options.onProgress?.(sent, total);
  }
  return { chunks: totalChunks, bytes: sent };
}

/** Names the chunk in the error, so a caller can tell how far the upload got. */
function withChunk(error: unknown, index: number, totalChunks: number, url: URL): unknown {
  if (error instanceof VmproApiError) {
    return new VmproApiError(
      `${error.message} (chunk ${index} of ${totalChunks})`,
      {
        status: error.status,
        method: error.method,
        path: redactedPath(url),
        apiMessage: error.apiMessage,
        apiCode: error.apiCode,
        hint: error.hint,
      },
      { retryable: error.retryable, retryAfter: error.retryAfter, cause: error.cause },
    );
  }
  if (isVmproError(error) && error.code !== 'VMPRO_ABORTED') {
    return new VmproError(error.code, `${error.message} (chunk ${index} of ${totalChunks})`, {
      retryable: error.retryable,
      retryAfter: error.retryAfter,
      cause: error.cause,
    });
  }
  return error;
}
