/**
 * Where the API client gets its bearer token from. Implementations: the session token source
 * (http layer), the service account (password grant, protocol layer) and a fixed token (api).
 */
export interface TokenSource {
  /**
   * A currently valid access token. With `forceRefresh`, the implementation refreshes even when
   * the token it holds looks valid (the API said `invalid_token`); it still refreshes at most
   * once at a time.
   */
  getAccessToken(options?: {
    forceRefresh?: boolean | undefined;
    signal?: AbortSignal | undefined;
  }): Promise<string>;
}
