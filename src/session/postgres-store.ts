/**
 * The PostgreSQL store: sessions shared by every instance through one table, with a coherent
 * in-process read cache kept by LISTEN/NOTIFY.
 */

import { createHash } from 'node:crypto';
import { configError, isVmproError, VmproError } from '../errors.js';
import { withTimeout } from '../internal/time.js';
import { type Logger, silentLogger } from '../logger.js';
import {
  CoherentCache,
  deletedMessage,
  type InvalidationChannels,
  type InvalidationSink,
  type InvalidationTransport,
  readThrough,
  writtenMessage,
} from './coherent-cache.js';
import { describeError, storeUnavailable } from './record.js';
import {
  discardUnreadable,
  type RecordWriteParts,
  recordSealer,
  recordWrites,
  sharedStoreSettings,
  takeLease,
  ttlText,
} from './store-kit.js';
import type { SessionRecord, SessionStore, StoreLock } from './types.js';

// ---- the pool, structurally ----------------------------------------------------------------------

/**
 * What one query answers (node-postgres `QueryResult`, structurally).
 *
 * @example
 * ```ts
 * const result: PgResultLike = await pool.query({ text: 'SELECT 1 AS one' })
 * ```
 */
export interface PgResultLike {
  rows: Record<string, unknown>[];
  rowCount: number | null;
}

/**
 * A client checked out of the pool (node-postgres `PoolClient`, structurally): the store holds
 * one to `LISTEN` on, and gives it back with `release(true)` (destroyed, never reused).
 *
 * @example
 * ```ts
 * const client: PgClientLike = await pool.connect()
 * ```
 */
export interface PgClientLike {
  query(text: string): Promise<unknown>;
  on(event: string, listener: (...args: never[]) => void): unknown;
  release(destroy?: boolean | Error): void;
}

/**
 * The node-postgres `Pool` the store needs, structurally: `new pg.Pool(...)` fits as it is (pg ≥ 8).
 * The store never ends your pool; it takes one connection from it for the local cache's
 * `LISTEN` (size the pool for it) and gives it back on `close()`.
 *
 * @example
 * ```ts
 * import pg from 'pg'
 * const pool: PgPoolLike = new pg.Pool({ connectionString: process.env.DATABASE_URL, connectionTimeoutMillis: 2000 })
 * ```
 */
export interface PgPoolLike {
  query(config: { text: string; values?: unknown[]; query_timeout?: number }): Promise<PgResultLike>;
  connect(): Promise<PgClientLike>;
  on?(event: 'error', listener: (error: Error) => void): unknown;
  removeListener?(event: 'error', listener: (error: Error) => void): unknown;
  listenerCount?(event: 'error'): number;
}

/**
 * The PostgreSQL store; `localCacheActive` says whether reads may currently be served locally.
 *
 * @example
 * ```ts
 * const store: PostgresSessionStore = postgresStore({ pool, createTable: true })
 * if (!store.localCacheActive) log.info('every session read goes to PostgreSQL for now')
 * ```
 */
export interface PostgresSessionStore extends SessionStore {
  readonly kind: 'postgres';
  /** True while the NOTIFY channel is proven to work (reads may skip the database). */
  readonly localCacheActive: boolean;
  /** The table, as given (`'vmpro_sessions'` by default). */
  readonly table: string;
  /**
   * Deletes expired rows now (sessions, locks, claims of every prefix) and returns how many. The
   * store also does this on its own timer (`sweepIntervalMs`).
   */
  sweep(): Promise<number>;
}

/**
 * Options of `postgresStore`.
 *
 * @example
 * ```ts
 * const options: PostgresStoreOptions = { pool, table: 'auth.sessions', heartbeatMs: 1000, commandTimeoutMs: 1500 }
 * ```
 */
export interface PostgresStoreOptions {
  /** A node-postgres `Pool` (or anything of its shape): see {@link PgPoolLike}. */
  pool: PgPoolLike;
  /**
   * The table, `name` or `schema.name`: lowercase letters, digits and `_`, at most 48 characters
   * each. Default `'vmpro_sessions'`.
   */
  table?: string | undefined;
  /**
   * Create the table (and its indexes) if it does not exist, before the first query. Default
   * false: create it with the SQL of {@link postgresStoreSchema} in your migrations.
   */
  createTable?: boolean | undefined;
  /** Several apps can share one table: each sees only its prefix's rows. Default `''`. */
  keyPrefix?: string | undefined;
  /** Keep an in-process, invalidated copy of records (default true; takes one pool connection). */
  localCache?: boolean | undefined;
  /** Records kept in the local cache; default 10 000 (least recently used evicted). */
  localCacheMaxEntries?: number | undefined;
  /** How often the NOTIFY channel is proven alive; default 5 000 ms. */
  heartbeatMs?: number | undefined;
  /** Each query fails with `VMPRO_STORE_UNAVAILABLE` after this; default 2 000 ms. */
  commandTimeoutMs?: number | undefined;
  /** How often expired rows are deleted; default 60 000 ms (the timer does not keep the process alive). */
  sweepIntervalMs?: number | undefined;
  /**
   * Secrets that encrypt each record at rest (JWE, A256GCM; the first encrypts, all decrypt).
   * Optional: `createSessionManager` hands the store its own session `secrets`.
   */
  secrets?: string[] | undefined;
  logger?: Logger | undefined;
}

// ---- the table -------------------------------------------------------------------------------

const TABLE_PART = /^[a-z_][a-z0-9_]{0,47}$/;
const DEFAULT_TABLE = 'vmpro_sessions';
const SEAL_PURPOSE = 'postgres-session-record';
const SWEEP_BATCH = 1000;
/** Batches per sweep tick: a backlog is worked off over several ticks, never in one long burst. */
const SWEEP_MAX_BATCHES = 20;

interface TableName {
  /** `"schema"."name"` or `"name"`. */
  quoted: string;
  /** The bare name, for the indexes' names (created in the table's schema). */
  base: string;
}

function parseTable(table: unknown): TableName {
  const parts = typeof table === 'string' ? table.split('.') : [];
  if (parts.length < 1 || parts.length > 2 || !parts.every((part) => TABLE_PART.test(part))) {
    throw configError(
      'table',
      `is not a table name this store accepts (got ${typeof table === 'string' ? JSON.stringify(table.slice(0, 80)) : typeof table})`,
      'use `name` or `schema.name`, lowercase letters, digits and `_`, at most 48 characters each',
    );
  }
  return { quoted: parts.map((part) => `"${part}"`).join('.'), base: parts[parts.length - 1]! };
}

/**
 * The SQL that creates the store's table and indexes (idempotent: `IF NOT EXISTS`), for teams
 * that create tables in migrations rather than with `createTable: true`.
 *
 * One table holds three kinds of rows (`kind`): `s` a session (its version, `sid` and `sub` in
 * clear for compare-and-set and back-channel logout, the record sealed in `data`), `l` a refresh
 * lock (`data` = the holder's token, `expires_at` = its lease), `c` a used login transaction.
 * `data` is ciphertext: `STORAGE EXTERNAL` skips a compression attempt that cannot win.
 *
 * @example
 * ```ts
 * import { postgresStoreSchema } from 'vmpro-connect/session'
 * await pool.query(postgresStoreSchema('vmpro_sessions')) // or paste it into a migration file
 * ```
 */
export function postgresStoreSchema(table: string = DEFAULT_TABLE): string {
  const { quoted, base } = parseTable(table);
  return `CREATE TABLE IF NOT EXISTS ${quoted} (
  expires_at timestamptz NOT NULL,
  version    integer,
  prefix     text        NOT NULL DEFAULT '',
  kind       text        NOT NULL CHECK (kind IN ('s', 'l', 'c')),
  key        text        NOT NULL,
  sid        text,
  sub        text,
  data       text,
  PRIMARY KEY (prefix, kind, key)
);
CREATE INDEX IF NOT EXISTS "${base}_sid_idx" ON ${quoted} (sid) WHERE kind = 's' AND sid IS NOT NULL;
CREATE INDEX IF NOT EXISTS "${base}_sub_idx" ON ${quoted} (sub) WHERE kind = 's';
CREATE INDEX IF NOT EXISTS "${base}_expires_idx" ON ${quoted} (expires_at);
ALTER TABLE ${quoted} ALTER COLUMN data SET STORAGE EXTERNAL;
`;
}

// ---- the local cache -------------------------------------------------------------------------

type Query = (text: string, values: unknown[]) => Promise<PgResultLike>;

/**
 * Carries the local cache's invalidations over LISTEN/NOTIFY (the cache itself is
 * `CoherentCache`, in `coherent-cache.ts`: the Redis store's rule).
 *
 * Every write and delete of any instance calls `pg_notify` in the same statement, so the
 * message goes out when (and only if) the change commits. Each instance listens on a connection
 * of its own, checked out of the pool; the heartbeat's probe is a `pg_notify` sent through the
 * pool. When the listening connection errors or ends, the cache is emptied and bypassed at once;
 * when a probe is late, the listening connection is also replaced (the pool answered, but that
 * connection did not hear it).
 */
class NotifyInvalidations implements InvalidationTransport {
  private listener: PgClientLike | null = null;
  private connecting = false;
  private readonly released = new WeakSet<PgClientLike>();
  private closed = false;
  private readonly channels: InvalidationChannels;

  constructor(
    private readonly sink: InvalidationSink,
    private readonly pool: PgPoolLike,
    private readonly query: Query,
    private readonly channel: string,
    private readonly timeoutMs: number,
    private readonly log: Logger,
  ) {
    this.channels = { names: [channel], channelOf: () => 0 };
  }

  async connect(): Promise<InvalidationChannels | null> {
    if (this.listener === null) await this.listen();
    return this.listener !== null ? this.channels : null;
  }

  publish(_channel: number, message: string): Promise<unknown> {
    return this.query('SELECT pg_notify($1, $2)', [this.channel, message]);
  }

  probesLate(): void {
    if (this.listener !== null) this.drop(this.listener);
  }

  /** Checks a connection out of the pool and LISTENs on it. */
  private async listen(): Promise<void> {
    if (this.connecting || this.closed) return;
    this.connecting = true;
    const pending = this.pool.connect();
    let client: PgClientLike | undefined;
    try {
      client = await withTimeout(
        pending,
        this.timeoutMs,
        () => new Error('no connection within the timeout'),
      );
      if (this.closed) {
        this.drop(client);
        return;
      }
      const connection = client;
      connection.on('notification', (message: never) => this.onNotification(connection, message));
      connection.on('error', (error: never) => {
        this.log.debug('session invalidation connection error', describeError(error));
        this.lost(connection, 'error');
      });
      connection.on('end', () => this.lost(connection, 'end'));
      await withTimeout(
        connection.query(`LISTEN "${this.channel}"`),
        this.timeoutMs,
        () => new Error('LISTEN not answered within the timeout'),
      );
      if (this.closed || this.released.has(connection)) {
        this.drop(connection);
        return;
      }
      this.listener = connection;
    } catch (error) {
      if (client === undefined) {
        // A connection that arrives after we gave up goes straight back.
        pending.then(
          (late) => this.drop(late),
          () => {},
        );
      } else {
        this.drop(client);
      }
      if (!this.closed) {
        this.log.debug('could not listen for session invalidations yet; reads bypass the local cache', {
          ...describeError(error),
        });
      }
    } finally {
      this.connecting = false;
    }
  }

  /** Gives a connection back to the pool, destroyed (it may be broken, and it holds a LISTEN). */
  private drop(client: PgClientLike): void {
    if (this.released.has(client)) return;
    this.released.add(client);
    if (this.listener === client) this.listener = null;
    try {
      client.release(true);
    } catch {
      // Released anyway.
    }
  }

  private lost(client: PgClientLike, reason: string): void {
    const wasListening = this.listener === client;
    this.drop(client);
    if (wasListening) this.sink.lost(`invalidation connection ${reason}`);
  }

  private onNotification(client: PgClientLike, message: { channel?: unknown; payload?: unknown }): void {
    if (client !== this.listener || message?.channel !== this.channel) return;
    if (typeof message.payload === 'string') this.sink.receive(this.channel, message.payload);
  }

  close(): void {
    this.closed = true;
    if (this.listener !== null) this.drop(this.listener);
  }
}

// ---- the store -------------------------------------------------------------------------------

/** Why PostgreSQL refused, for the message (SQLSTATE classes a human can act on). */
function hint(error: unknown, table: string): string {
  const code = (error as { code?: unknown } | null)?.code;
  if (code === '42P01') {
    return ` — the table ${table} does not exist: pass \`createTable: true\` or run the SQL of postgresStoreSchema() in a migration`;
  }
  if (code === '42703' || code === '42804') {
    return ` — the table ${table} does not have the columns this store expects: compare it with postgresStoreSchema()`;
  }
  if (code === '28P01' || code === '28000' || code === '3D000') {
    return ' — the database refused the connection: check the pool’s connection string and credentials';
  }
  if (code === '42501')
    return ` — the database user may not use the table ${table}: grant it SELECT, INSERT, UPDATE, DELETE`;
  return '';
}

/**
 * Sessions in a PostgreSQL table, shared by every instance of the app; back-channel logout and
 * logout on one instance take effect on all.
 *
 * - **Records** are sealed (JWE, A256GCM, bound to their key) in `data`; only the version, `sid`
 *   and `sub` are in clear, and a row whose clear columns disagree with its sealed record is
 *   refused (logged, deleted, treated as absent).
 * - **Writes** are compare-and-set on `version` (`UPDATE … WHERE version = $expected`).
 * - **The refresh lock** is a row with an owner token and a lease (`expires_at`), taken by
 *   `INSERT … ON CONFLICT DO UPDATE … WHERE expires_at <= now()` and released by a
 *   compare-and-delete: a crashed holder's lock ends with its lease, and holding it needs no
 *   connection (unlike `pg_try_advisory_lock`, which is tied to one pooled connection, vanishes
 *   silently when that connection drops, and cannot expire).
 * - **`claim()`** marks single-use login transactions the same way.
 * - **Expiry** is by `expires_at` (the database's clock) on every read, plus a periodic unref'd
 *   sweep that deletes expired rows.
 * - **The local cache** is kept coherent by LISTEN/NOTIFY (`CoherentCache`, see `NotifyInvalidations` above) and trusted
 *   only while a heartbeat proves the channel works.
 *
 * Every query fails after `commandTimeoutMs` with `VMPRO_STORE_UNAVAILABLE` (the app answers 503;
 * nobody is logged out). `close()` stops the timers and gives the listening connection back; it
 * does not end your pool.
 *
 * @example
 * ```ts
 * import pg from 'pg'
 * import { createSessionManager, postgresStore } from 'vmpro-connect/session'
 * const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, connectionTimeoutMillis: 2000 })
 * const store = postgresStore({ pool, createTable: true })
 * ```
 */
export function postgresStore(options: PostgresStoreOptions): PostgresSessionStore {
  if (typeof options !== 'object' || options === null) {
    throw new VmproError('VMPRO_CONFIG_INVALID', 'postgresStore() needs { pool } (a node-postgres Pool).');
  }
  const pool = options.pool;
  if (
    typeof pool !== 'object' ||
    pool === null ||
    typeof pool.query !== 'function' ||
    typeof pool.connect !== 'function'
  ) {
    throw configError(
      'pool',
      'must be a node-postgres Pool (with `query` and `connect`)',
      'pass `new pg.Pool(...)`',
    );
  }
  const tableOption = options.table ?? DEFAULT_TABLE;
  const table = parseTable(tableOption);
  const prefix = options.keyPrefix ?? '';
  if (typeof prefix !== 'string' || prefix.length > 200) {
    throw configError('keyPrefix', 'must be a string of at most 200 characters');
  }
  const { commandTimeoutMs: timeoutMs, maxEntries, heartbeatMs } = sharedStoreSettings(options);
  const sweepIntervalMs = options.sweepIntervalMs ?? 60_000;
  if (!Number.isFinite(sweepIntervalMs) || sweepIntervalMs < 10) {
    throw configError('sweepIntervalMs', 'must be at least 10 milliseconds');
  }
  const sealer = recordSealer('postgresStore', SEAL_PURPOSE, options.secrets);
  const log = options.logger ?? silentLogger;
  const t = table.quoted;
  const channel = `vmpro_${createHash('sha256').update(`${tableOption}\u0000${prefix}`).digest('hex').slice(0, 24)}`;
  const ddlTimeoutMs = Math.max(timeoutMs, 10_000);

  // An idle pooled connection that errors (the database restarted) is an 'error' event on the
  // pool, which crashes the process when nobody listens. Listen, if the app does not.
  const onPoolError = (error: Error) =>
    log.warn('an idle PostgreSQL connection failed', describeError(error));
  const poolListened = typeof pool.on === 'function' && pool.listenerCount?.('error') === 0;
  if (poolListened) pool.on?.('error', onPoolError);

  let closed = false;
  const undoTimers = new Set<NodeJS.Timeout>();

  /** One query with a deadline; a timed-out query's connection is destroyed by the pool (`query_timeout`). */
  const rawQuery = (text: string, values: unknown[] | undefined, ms: number): Promise<PgResultLike> =>
    withTimeout(
      pool.query(values === undefined ? { text, query_timeout: ms } : { text, values, query_timeout: ms }),
      ms,
      () => new Error(`PostgreSQL did not answer within ${ms} ms`),
    );

  let ready: Promise<void> | null = null;
  const ensureTable = async (): Promise<void> => {
    const found = await rawQuery('SELECT to_regclass($1) IS NOT NULL AS present', [t], timeoutMs);
    if (found.rows[0]?.present === true) return;
    // One instance creates it; others wait on the advisory lock, then find it (IF NOT EXISTS).
    const lockId = createHash('sha256').update(`vmpro-connect ${tableOption}`).digest().readInt32BE(0);
    await rawQuery(
      `BEGIN; SET LOCAL lock_timeout = '5s'; SELECT pg_advisory_xact_lock(${lockId}); ${postgresStoreSchema(tableOption)} COMMIT;`,
      undefined,
      ddlTimeoutMs,
    );
    log.info('created the session table', { table: tableOption });
  };
  const whenReady = (): Promise<void> | null => {
    if (options.createTable !== true) return null;
    if (ready === null) {
      ready = ensureTable().catch((error: unknown) => {
        ready = null; // tried again by the next call
        throw error;
      });
    }
    return ready;
  };

  const query: Query = async (text, values) => {
    const pending = whenReady();
    if (pending !== null) await pending;
    return rawQuery(text, values, timeoutMs);
  };

  /** Runs one operation; every failure is an outage (`VMPRO_STORE_UNAVAILABLE`), with a hint when PostgreSQL said why. */
  const op = async <T>(what: string, run: () => Promise<T>): Promise<T> => {
    try {
      return await run();
    } catch (error) {
      if (isVmproError(error)) throw error;
      throw storeUnavailable(`PostgreSQL ${what}${hint(error, tableOption)}`, error);
    }
  };

  const cache =
    options.localCache === false
      ? null
      : new CoherentCache(
          { maxEntries, heartbeatMs, commandTimeoutMs: timeoutMs, log },
          (sink) => new NotifyInvalidations(sink, pool, query, channel, timeoutMs, log),
        );
  cache?.start();

  // ---- records at rest ------------------------------------------------------------------------

  /** The sealed record names its prefix and key: a row copied to another key (or app) does not open there. */
  const sealedName = (key: string) => `${prefix}\u0000${key}`;

  const seal = (key: string, record: SessionRecord, ttlMs: number): Promise<string> =>
    sealer.seal(sealedName(key), record, ttlMs);

  /** The record, or `null` when the row cannot be trusted: not sealed, sealed for another key or with unknown secrets, clear columns changed. */
  const open = async (key: string, row: Record<string, unknown>): Promise<SessionRecord | null> => {
    const record = await sealer.open(sealedName(key), row.data, row.version);
    // sid and sub drive back-channel logout: a row whose index columns lie is not a session.
    if (record === null || record.sid !== (row.sid ?? null) || record.user.sub !== row.sub) return null;
    return record;
  };

  const WRITE_UPSERT = `WITH w AS (
  INSERT INTO ${t} AS cur (prefix, kind, key, version, sid, sub, data, expires_at)
  VALUES ($1, 's', $2, $3, $4, $5, $6, now() + $7::float8 * interval '1 millisecond')
  ON CONFLICT (prefix, kind, key) DO UPDATE SET version = EXCLUDED.version, sid = EXCLUDED.sid,
    sub = EXCLUDED.sub, data = EXCLUDED.data, expires_at = EXCLUDED.expires_at
  RETURNING 1
) SELECT pg_notify($8, $9) FROM w`;
  const WRITE_CAS = `WITH w AS (
  UPDATE ${t} SET version = $3, sid = $4, sub = $5, data = $6,
    expires_at = now() + $7::float8 * interval '1 millisecond'
  WHERE prefix = $1 AND kind = 's' AND key = $2 AND version = $10 AND expires_at > now()
  RETURNING 1
) SELECT pg_notify($8, $9) FROM w`;

  /** Writes a sealed record, and its NOTIFY in the same statement. */
  const write: RecordWriteParts['write'] = async (key, record, sealed, ttlMs, expectedVersion) => {
    const values: unknown[] = [
      prefix,
      key,
      record.version,
      record.sid,
      record.user.sub,
      sealed,
      ttlText(ttlMs),
      channel,
      writtenMessage(record.version, key),
    ];
    if (expectedVersion !== undefined) values.push(expectedVersion);
    const result = await query(expectedVersion === undefined ? WRITE_UPSERT : WRITE_CAS, values);
    return result.rowCount === 1;
  };

  const remove = (key: string) =>
    query(
      `WITH d AS (DELETE FROM ${t} WHERE prefix = $1 AND kind = 's' AND key = $2 RETURNING 1) SELECT pg_notify($3, $4)`,
      [prefix, key, channel, deletedMessage(key)],
    );

  /** Deletes an unreadable row, only if it is still the same row (a concurrent good write stays). */
  const removeUnreadable = (key: string, row: Record<string, unknown>) =>
    query(
      `DELETE FROM ${t} WHERE prefix = $1 AND kind = 's' AND key = $2 AND data IS NOT DISTINCT FROM $3 AND version IS NOT DISTINCT FROM $4`,
      [
        prefix,
        key,
        typeof row.data === 'string' ? row.data : null,
        typeof row.version === 'number' ? row.version : null,
      ],
    );

  // ---- locks and claims -----------------------------------------------------------------------

  const TAKE = `INSERT INTO ${t} AS cur (prefix, kind, key, data, expires_at)
VALUES ($1, $2, $3, $4, now() + $5::float8 * interval '1 millisecond')
ON CONFLICT (prefix, kind, key) DO UPDATE SET data = EXCLUDED.data, expires_at = EXCLUDED.expires_at
WHERE cur.expires_at <= now()
RETURNING 1`;
  const GIVE_BACK = `DELETE FROM ${t} WHERE prefix = $1 AND kind = $2 AND key = $3 AND data = $4`;

  /**
   * An INSERT given up on (timed out) may still commit when the database answers again, and would
   * then hold the row for `ttlMs` for nobody. Compare-and-delete it, again every timeout, until a
   * row was deleted or half a minute (or the lease) has passed; a no-op when it never ran.
   */
  const undoLater = (kind: 'l' | 'c', name: string, owner: string, ttlMs: number) => {
    const until = Date.now() + Math.min(ttlMs, 30_000);
    const attempt = () => {
      if (closed || Date.now() > until) return;
      rawQuery(GIVE_BACK, [prefix, kind, name, owner], timeoutMs).then(
        (result) => {
          if (result.rowCount !== 1) schedule();
        },
        () => schedule(),
      );
    };
    const schedule = () => {
      if (closed || Date.now() > until) return;
      const timer = setTimeout(() => {
        undoTimers.delete(timer);
        attempt();
      }, timeoutMs);
      timer.unref();
      undoTimers.add(timer);
    };
    attempt();
  };

  /** Takes the row `(kind, name)` unless someone holds an unexpired one: the owner token, or `null`. */
  const takeOnce = (kind: 'l' | 'c', name: string, ttlMs: number): Promise<string | null> =>
    takeLease(
      async (owner) => (await query(TAKE, [prefix, kind, name, owner, ttlText(ttlMs)])).rowCount === 1,
      (owner) => undoLater(kind, name, owner, ttlMs),
    );

  const indexRead = async (column: 'sid' | 'sub', value: string): Promise<string[]> => {
    const result = await query(
      `SELECT key FROM ${t} WHERE kind = 's' AND ${column} = $2 AND prefix = $1 AND expires_at > now()`,
      [prefix, value],
    );
    return result.rows.map((row) => String(row.key));
  };

  // ---- the sweep ------------------------------------------------------------------------------

  const SWEEP = `DELETE FROM ${t} WHERE ctid = ANY (ARRAY(
  SELECT ctid FROM ${t} WHERE expires_at <= now() LIMIT ${SWEEP_BATCH} FOR UPDATE SKIP LOCKED))`;
  const sweep = async (): Promise<number> => {
    let total = 0;
    for (let batch = 0; batch < SWEEP_MAX_BATCHES; batch++) {
      const result = await query(SWEEP, []);
      total += result.rowCount ?? 0;
      if ((result.rowCount ?? 0) < SWEEP_BATCH) break;
    }
    return total;
  };
  let sweepWarned = false;
  const sweepTimer = setInterval(() => {
    sweep().then(
      (count) => {
        sweepWarned = false;
        if (count > 0) log.debug('expired session rows swept', { count });
      },
      (error: unknown) => {
        // Sessions expire on read anyway; a failed sweep only delays freeing the rows.
        if (!sweepWarned) log.warn('could not sweep expired session rows; will retry', describeError(error));
        sweepWarned = true;
      },
    );
  }, sweepIntervalMs);
  sweepTimer.unref();

  return {
    kind: 'postgres',
    table: tableOption,
    get localCacheActive() {
      return cache?.isUp ?? false;
    },
    get: (key, getOptions) =>
      readThrough(cache, key, getOptions?.fresh === true, async () => {
        const result = await op('read', () =>
          query(
            `SELECT version, sid, sub, data, (extract(epoch FROM expires_at - now()) * 1000)::float8 AS ttl_ms
FROM ${t} WHERE prefix = $1 AND kind = 's' AND key = $2 AND expires_at > now()`,
            [prefix, key],
          ),
        );
        const row = result.rows[0];
        if (row === undefined) return null;
        const record = await open(key, row);
        if (record === null)
          await discardUnreadable(log, 'PostgreSQL', key, () => removeUnreadable(key, row));
        return { record, ttlMs: Number(row.ttl_ms) };
      }),
    ...recordWrites({ cache, seal, op, write, remove }),
    keysBySid: (sid) => op('index read', () => indexRead('sid', sid)),
    keysBySub: (sub) => op('index read', () => indexRead('sub', sub)),
    async lock(key, ttlMs): Promise<StoreLock | null> {
      const owner = await op('lock', () => takeOnce('l', key, ttlMs));
      if (owner === null) return null;
      return {
        async release() {
          await op('unlock', () => query(GIVE_BACK, [prefix, 'l', key, owner]));
        },
      };
    },
    claim: async (name, ttlMs) => (await op('claim', () => takeOnce('c', name, ttlMs))) !== null,
    sweep: () => op('sweep', sweep),
    useSecrets: sealer.adopt,
    async close() {
      closed = true;
      clearInterval(sweepTimer);
      for (const timer of undoTimers) clearTimeout(timer);
      undoTimers.clear();
      cache?.close();
      if (poolListened) pool.removeListener?.('error', onPoolError);
    },
  };
}
