/**
 * Where discovery keeps the WebFinger and OpenID configuration answers it may reuse: by URL, each
 * until its `Cache-Control: max-age` runs out. Every {@link createOidcClient} owns one unless it
 * is given one to share; nothing is cached at module level, so two clients (or two tests) never
 * see each other's answers unless they share a cache on purpose.
 */

/** Cached discovery answers by URL. */
export interface DiscoveryCache {
  /** The JSON body cached for `url`, when it is still fresh at `now` (epoch ms). */
  get(url: string, now: number): Readonly<Record<string, unknown>> | undefined;
  /** Keeps `body` for `url` until `expiresAt` (epoch ms). */
  set(url: string, body: Readonly<Record<string, unknown>>, expiresAt: number): void;
  /** Forgets every answer (to pick up a changed login server at once). */
  clear(): void;
}

/**
 * A new, empty {@link DiscoveryCache}: pass it as `discoveryCache` to several
 * `createOidcClient` calls (or as `cache` to `discover`) to let them share the answers.
 *
 * @example
 * ```ts
 * const discoveryCache = createDiscoveryCache();
 * const web = await createOidcClient({ clientId: 'portal', clientSecret, redirectUri, discoveryCache });
 * const robot = await createOidcClient({ clientId: 'anonymous', discoveryCache }); // reuses answers for their max-age
 * ```
 */
export function createDiscoveryCache(): DiscoveryCache {
  const entries = new Map<string, { body: Readonly<Record<string, unknown>>; expiresAt: number }>();
  return {
    get(url, now) {
      const entry = entries.get(url);
      if (entry === undefined) return undefined;
      if (entry.expiresAt > now) return entry.body;
      entries.delete(url);
      return undefined;
    },
    set(url, body, expiresAt) {
      entries.set(url, { body, expiresAt });
    },
    clear() {
      entries.clear();
    },
  };
}

/** True when `value` can serve as a {@link DiscoveryCache}. */
export function isDiscoveryCache(value: unknown): value is DiscoveryCache {
  if (typeof value !== 'object' || value === null) return false;
  const cache = value as Record<string, unknown>;
  return (
    typeof cache.get === 'function' && typeof cache.set === 'function' && typeof cache.clear === 'function'
  );
}
