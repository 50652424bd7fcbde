/**
 * The PostgreSQL store's footprint and read cost, measured once (figures, not a test):
 *
 * 1. bytes per 100 000 sessions: 100 000 Keycloak-sized records (access token ~2 KB, refresh
 *    token ~0.9 KB, ID token ~1.8 KB, a sid and a sub each) written through `postgresStore`
 *    (sealed, as in production) into a fresh table, then `pg_total_relation_size` (heap + TOAST +
 *    indexes) and its parts;
 * 2. one `get()` served by the local cache (LISTEN/NOTIFY kept) vs one that asks the database
 *    (`localCache: false`), same record, same pool, mean over many sequential reads.
 *
 * The table (random name) is dropped at the end.
 *
 *   DATABASE_URL=postgres://postgres@127.0.0.1:5432/test npx tsx bench/postgres-store.ts   (PG_BENCH_SESSIONS=100000)
 */
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { postgresStore, postgresStoreSchema } from '../src/session/postgres-store.js';
import { makeRecord, SECRET } from '../src/session/test-support.js';

const url = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const SESSIONS = Number(process.env.PG_BENCH_SESSIONS ?? 100_000);
const CONCURRENCY = 32;

const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;

async function main(): Promise<void> {
  const table = `vmpro_bench_${randomBytes(4).toString('hex')}`;
  const pool = new pg.Pool({ connectionString: url, max: CONCURRENCY + 2 });
  pool.on('error', () => {});
  await pool.query(postgresStoreSchema(table));
  const writer = postgresStore({ pool, table, localCache: false, secrets: [SECRET] });
  try {
    // ---- 1. footprint ------------------------------------------------------------------------
    const started = performance.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        for (let i = next++; i < SESSIONS; i = next++) {
          const now = Date.now();
          const record = makeRecord(now, {
            sid: `9c1f6a52-${String(i).padStart(4, '0')}-4d0e-9d6c-2f3e8b7a1c55`,
            user: { sub: `f3b2c1d0-${String(i).padStart(4, '0')}-4a5b-8c9d-0e1f2a3b4c5d`, name: 'Dana Demo' },
          });
          await writer.create(randomBytes(32).toString('base64url'), record, 3_600_000);
        }
      }),
    );
    const writeSeconds = (performance.now() - started) / 1000;
    await pool.query(`VACUUM ANALYZE ${table}`);
    const { rows } = await pool.query(
      `SELECT pg_total_relation_size($1::regclass)::float8 AS total,
              pg_relation_size($1::regclass)::float8 AS heap,
              pg_indexes_size($1::regclass)::float8 AS indexes,
              (pg_total_relation_size($1::regclass) - pg_relation_size($1::regclass) - pg_indexes_size($1::regclass))::float8 AS toast,
              (SELECT avg(octet_length(data))::float8 FROM ${table}) AS sealed,
              (SELECT count(*)::float8 FROM ${table}) AS count`,
      [table],
    );
    const size = rows[0] as Record<string, number>;
    const per100k = (bytes: number) => (bytes / size.count!) * 100_000;
    console.log(`# postgresStore footprint: ${size.count} sessions written in ${writeSeconds.toFixed(1)} s`);
    console.log(`   total (pg_total_relation_size) per 100 000 sessions: ${mb(per100k(size.total!))}`);
    console.log(
      `     heap ${mb(per100k(size.heap!))}, TOAST ${mb(per100k(size.toast!))}, indexes ${mb(per100k(size.indexes!))}`,
    );
    console.log(
      `   per session: ${Math.round(size.total! / size.count!)} bytes; the sealed record alone: ${Math.round(size.sealed!)} bytes`,
    );

    // ---- 2. one read, cached vs not --------------------------------------------------------------
    const cached = postgresStore({ pool, table, heartbeatMs: 1000, secrets: [SECRET] });
    const direct = postgresStore({ pool, table, localCache: false, secrets: [SECRET] });
    try {
      await writer.create('bench-read', makeRecord(Date.now()), 3_600_000);
      const deadline = Date.now() + 5000;
      while (!cached.localCacheActive && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      if (!cached.localCacheActive) throw new Error('the local cache did not come up within 5 s');
      const time = async (store: typeof cached, reads: number) => {
        for (let i = 0; i < 200; i++) await store.get('bench-read'); // warm up (and fill the cache)
        const t0 = performance.now();
        for (let i = 0; i < reads; i++) {
          if ((await store.get('bench-read')) === null) throw new Error('record gone');
        }
        return ((performance.now() - t0) * 1000) / reads;
      };
      const cachedUs = await time(cached, 100_000);
      const directUs = await time(direct, 5_000);
      console.log('# one get(), sequential, same record');
      console.log(`   through the local cache: ${cachedUs.toFixed(2)} µs`);
      console.log(`   from PostgreSQL (SELECT + unseal): ${directUs.toFixed(1)} µs`);
      console.log(`   ratio: ${(directUs / cachedUs).toFixed(0)}×`);
    } finally {
      await cached.close?.();
      await direct.close?.();
    }
  } finally {
    await writer.close?.();
    await pool.query(`DROP TABLE IF EXISTS ${table}`);
    await pool.end();
  }
}

await main();
