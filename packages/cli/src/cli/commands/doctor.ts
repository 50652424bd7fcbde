/**
 * `vmpro doctor`: checks the set-up one step at a time (Node, API base, WebFinger, OpenID
 * configuration, issuer, PKCE, https endpoints, clock, client, session secret and store, the
 * credentials file) and prints ✔/✘ with a fix for each failure.
 *
 * WebFinger and the OpenID configuration are read with vmpro-connect's own send and process
 * steps, so doctor judges them by exactly the rules a sign-in uses; it adds what those steps do
 * not check (movingimage's form of WebFinger, PKCE S256, the servers' clocks).
 */

import {
  DEFAULT_API_BASE,
  DEFAULT_CLOCK_TOLERANCE_SEC,
  type DiscoveryRequestOptions,
  discoveryRequest,
  isVmproError,
  type OidcMetadata,
  processDiscoveryResponse,
  processWebfingerResponse,
  type VmproError,
  type WebfingerResult,
  webfingerRequest,
} from 'vmpro-connect';
import {
  describeStore,
  parseSecrets,
  parseSessionStore,
  SESSION_STORE_FORMS,
  type StoreChoice,
} from '../../demo/env.js';
import { isLoopbackHost } from '../../url.js';
import { type CliContext, clock, say } from '../context.js';
import { credentialsPath, fileMode, readCredentials } from '../credentials.js';
import { describeError, guard } from '../errors.js';

export interface DoctorOptions {
  /** Default `VMPRO_API_BASE`, else https://api.video-cdn.net. */
  apiBase?: string;
  /** Default `VMPRO_ISSUER`; when set, WebFinger is not needed. */
  issuer?: string;
  /** Seconds per network check; default 5. */
  timeout?: number;
}

/** One line of the report. `warn` and `skip` do not fail the run. */
export interface CheckResult {
  status: 'ok' | 'fail' | 'warn' | 'skip';
  title: string;
  /** What to do about a failure or warning. */
  fix?: string;
}

const MARK: Record<CheckResult['status'], string> = { ok: '✔', fail: '✘', warn: '!', skip: '–' };
/** A clock difference above this is worth fixing before it grows past the tolerance. */
const WARN_SKEW_MS = 10_000;

const FIX_REACH_API =
  'Check VMPRO_API_BASE and the network (for the emulator: is `vmpro emulator` running?), or set VMPRO_ISSUER to skip WebFinger.';
const FIX_NO_LOGIN_SERVER =
  'This host does not announce a login server vmpro-connect can use: check VMPRO_API_BASE, or set VMPRO_ISSUER.';
const FIX_ISSUER_SETTING =
  'Set VMPRO_ISSUER (or --issuer) to the bare issuer, e.g. https://login.movingimage.com/auth/realms/platform, or unset it to find the issuer by WebFinger.';
const FIX_REACH_LOGIN = 'Check the issuer (VMPRO_ISSUER, or the WebFinger answer) and the network.';
const FIX_CONFIGURATION =
  "Check VMPRO_ISSUER / VMPRO_API_BASE: the URL must point to the login server's realm, and the login server must announce https:// endpoints (plain http:// only on 127.0.0.1/::1/localhost).";
const FIX_ISSUER_MISMATCH =
  'The login server announces the wrong public URL (Keycloak: set hostname / frontendUrl), or the configured issuer is misspelled. Do not work around this: tokens are checked against the issuer.';
const FIX_LATER = 'The server has a problem: try again later. If it persists, ';

const ok = (title: string): CheckResult => ({ status: 'ok', title });
const fail = (title: string, fix: string): CheckResult => ({ status: 'fail', title, fix });
const warn = (title: string, fix: string): CheckResult => ({ status: 'warn', title, fix });
const skip = (title: string): CheckResult => ({ status: 'skip', title });

/**
 * A ✘ line for what a library step threw: the check's name, then the library's message (it
 * names the URL and the problem), and doctor's fix, chosen by the error's code and `retryable`,
 * never by its wording.
 */
function stepFailure(check: string, error: unknown, fixFor: (error: VmproError) => string): CheckResult {
  if (!isVmproError(error)) {
    return fail(`${check}: ${describeError(error).join(' ')}`, 'See the message above.');
  }
  if (error.code === 'VMPRO_ABORTED') return fail(`${check}: ${error.message}`, 'Run `vmpro doctor` again.');
  return fail(`${check}: ${error.message}`, fixFor(error));
}

const hasCode = (error: unknown, code: VmproError['code']) => isVmproError(error) && error.code === code;

/** An answer from a send step, and this machine's clock around it (for the clock check). */
interface Answer {
  response: Response;
  /** Local clock when the request was sent and when the answer's headers arrived, epoch ms. */
  sentAt: number;
  receivedAt: number;
}

/** Runs a send step; it returns the answer unread, so its headers arrive with `receivedAt`. */
async function timed(ctx: CliContext, send: () => Promise<Response>): Promise<Answer> {
  const sentAt = clock(ctx);
  const response = await send();
  return { response, sentAt, receivedAt: clock(ctx) };
}

/**
 * ✔ when WebFinger answered as movingimage's API host does (the issuer link is the full
 * configuration URL, the subject is the resource asked about, the type is JRD), else a warning
 * naming each difference: vmpro-connect copes with them, a real API host does not have them.
 */
function webfingerForm(found: WebfingerResult, response: Response, apiOrigin: string): CheckResult {
  const resource = `${apiOrigin}/v1/`;
  // A bare issuer as the link is taken as the issuer itself; a configuration URL is not.
  const bareIssuer = found.issuerLink === found.issuer;
  const subject = found.document.subject;
  const jrd = (response.headers.get('content-type') ?? '').includes('application/jrd+json');
  if (!bareIssuer && subject === resource && jrd) {
    return ok(`WebFinger in movingimage's form: the issuer link is ${found.issuerLink}`);
  }
  const differences = [
    bareIssuer ? 'the issuer link is a bare issuer, not the configuration URL' : '',
    subject === resource ? '' : `the subject is ${JSON.stringify(subject)}, not ${resource}`,
    jrd ? '' : 'the content type is not application/jrd+json',
  ].filter(Boolean);
  return warn(
    `WebFinger works but differs from movingimage's form: ${differences.join('; ')}`,
    "vmpro-connect copes with this; a real movingimage API host answers in movingimage's form, so check VMPRO_API_BASE.",
  );
}

function redactUrl(text: string): string {
  try {
    const url = new URL(text);
    if (url.password) url.password = '***';
    return url.href;
  } catch {
    return text;
  }
}

async function pingRedis(url: string, timeoutMs: number): Promise<void> {
  const { Redis } = await import('ioredis');
  const client = new Redis(url, {
    lazyConnect: true,
    connectTimeout: timeoutMs,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    retryStrategy: () => null,
  });
  client.on('error', () => {}); // reported through the promise below
  try {
    await client.connect();
    const answer = await client.ping();
    if (answer !== 'PONG') throw new Error(`PING answered ${JSON.stringify(answer)}`);
  } finally {
    client.disconnect();
  }
}

/** Connects to PostgreSQL at `url` and runs `SELECT 1`, within `timeoutMs`. */
async function pingPostgres(url: string, timeoutMs: number): Promise<void> {
  const { default: pg } = await import('pg');
  const client = new pg.Client({
    connectionString: url,
    connectionTimeoutMillis: timeoutMs,
    query_timeout: timeoutMs,
  });
  client.on('error', () => {}); // reported through the promise below
  try {
    await client.connect();
    await client.query('SELECT 1');
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Asks the cluster's seed nodes for `CLUSTER INFO` and requires `cluster_state:ok`, within `timeoutMs`. */
async function pingRedisCluster(store: Extract<StoreChoice, { kind: 'redis-cluster' }>, timeoutMs: number) {
  const { Redis } = await import('ioredis');
  const failures: string[] = [];
  for (const node of store.nodes) {
    const client = new Redis({
      host: node.host,
      port: node.port,
      ...(store.username === undefined ? {} : { username: store.username }),
      ...(store.password === undefined ? {} : { password: store.password }),
      lazyConnect: true,
      connectTimeout: timeoutMs,
      maxRetriesPerRequest: 0,
      enableOfflineQueue: false,
      retryStrategy: () => null,
    });
    client.on('error', () => {}); // reported below
    try {
      await client.connect();
      const info = String(await client.call('CLUSTER', 'INFO'));
      if (info.includes('cluster_state:ok')) return;
      failures.push(
        `${node.host}:${node.port} reports ${/cluster_state:\w+/.exec(info)?.[0] ?? 'no cluster state'}`,
      );
    } catch (error) {
      failures.push(`${node.host}:${node.port}: ${(error as Error).message}`);
    } finally {
      client.disconnect();
    }
  }
  throw new Error(failures.join('; '));
}

/** How far a server's clock is from this machine's, from one answer's `Date` header. */
interface Skew {
  /** Best estimate, ms; positive when the server's clock is ahead. */
  estimateMs: number;
  /** The true skew is within `estimateMs ± uncertaintyMs`. */
  uncertaintyMs: number;
}

interface ClockReading {
  name: 'login server' | 'API';
  origin: string;
  skew: Skew;
}

/**
 * `Date` has whole seconds (the server's clock, truncated) and was stamped somewhere between
 * sending and receiving: the server's clock minus ours lies in [date − received, date + 1 s −
 * sent]. The estimate is the middle of that; the half-width (≥ 0.5 s) is the uncertainty.
 */
function measureSkew(answer: Answer): Skew | null {
  const date = Date.parse(answer.response.headers.get('date') ?? '');
  if (Number.isNaN(date)) return null;
  const lowest = date - answer.receivedAt;
  const highest = date + 1000 - answer.sentAt;
  return { estimateMs: (lowest + highest) / 2, uncertaintyMs: (highest - lowest) / 2 };
}

/** The smallest skew the measurement allows, ms (0 when the clocks may agree). */
function leastSkewMs(skew: Skew): number {
  return Math.max(0, Math.abs(skew.estimateMs) - skew.uncertaintyMs);
}

function describeSkew(skew: Skew): string {
  const seconds = Math.round(Math.abs(skew.estimateMs) / 1000);
  const margin = `±${Math.max(1, Math.ceil(skew.uncertaintyMs / 1000))} s`;
  if (seconds === 0) return `in step with this machine's (${margin})`;
  return `${seconds} s ${skew.estimateMs > 0 ? 'ahead of' : 'behind'} this machine's (${margin})`;
}

/**
 * Whose clock is likely off: a second server on another host that agrees with this machine
 * points at the first server; two that agree with each other point at this machine.
 */
function likelyCause(server: ClockReading, all: ClockReading[]): string {
  const other = all.find((o) => o !== server && new URL(o.origin).host !== new URL(server.origin).host);
  if (other) {
    const margin = server.skew.uncertaintyMs + other.skew.uncertaintyMs + 1000;
    if (leastSkewMs(other.skew) === 0) {
      return `The ${server.name}'s clock is likely off: the ${other.name} (${other.origin}) agrees with this machine's.`;
    }
    if (Math.abs(server.skew.estimateMs - other.skew.estimateMs) <= margin) {
      return `This machine's clock is likely off: the ${server.name} and the ${other.name} agree with each other.`;
    }
  }
  return `This machine's clock or the ${server.name}'s is off.`;
}

/**
 * Above 10 s a warning; a login server beyond the tolerance fails the check, because its tokens
 * are (or soon will be) refused. The API's clock does not decide sign-ins, but tells whose
 * clock is off.
 */
function clockResult(server: ClockReading, all: ClockReading[]): CheckResult {
  const least = leastSkewMs(server.skew);
  const where = `The ${server.name}'s clock (${server.origin}) is ${describeSkew(server.skew)}`;
  if (least <= WARN_SKEW_MS) return ok(`Clock of the ${server.name}: ${describeSkew(server.skew)}`);
  const tolerance = DEFAULT_CLOCK_TOLERANCE_SEC;
  const fix = `${likelyCause(server, all)} Turn on time synchronisation (NTP) where it is off: \`sudo timedatectl set-ntp true\`, or chrony (\`chronyc tracking\` shows the offset, \`sudo chronyc makestep\` corrects it at once); for a server you do not run, tell its operator.`;
  if (server.name === 'API') {
    return warn(
      `${where}: one of the two clocks is off (sign-ins fail once this machine's and the login server's differ by more than ${tolerance} s)`,
      fix,
    );
  }
  if (least <= tolerance * 1000) {
    return warn(`${where}: sign-ins still work, but fail beyond the ${tolerance} s clock tolerance`, fix);
  }
  const consequence =
    server.skew.estimateMs > 0
      ? 'so sign-ins fail (its tokens look issued in the future)'
      : `so its tokens look ${Math.round(-server.skew.estimateMs / 1000)} s old on arrival and are refused as expired once that passes their lifetime`;
  return fail(`${where}: beyond the ${tolerance} s clock tolerance, ${consequence}`, fix);
}

/** Runs every check and returns the results in order (nothing printed). */
export async function runChecks(options: DoctorOptions, ctx: CliContext): Promise<CheckResult[]> {
  const results: CheckResult[] = [];
  const env = (name: string) => ctx.env[name]?.trim() || undefined;
  const timeoutMs = (options.timeout ?? 5) * 1000;
  const request: DiscoveryRequestOptions = {
    timeoutMs,
    ...(ctx.fetch && { fetch: ctx.fetch }),
    ...(ctx.signal && { signal: ctx.signal }),
  };

  // Node.js
  const major = Number(process.versions.node.split('.')[0]);
  results.push(
    major >= 20
      ? ok(`Node.js ${process.versions.node} (20 or newer needed)`)
      : fail(
          `Node.js ${process.versions.node} is too old`,
          'Install Node.js 20 or newer (https://nodejs.org).',
        ),
  );

  // API base: checked here, not left to the WebFinger step, so the fix can name the setting and
  // the API client's base is checked even when the issuer is configured.
  const apiBaseText = options.apiBase ?? env('VMPRO_API_BASE') ?? DEFAULT_API_BASE;
  let apiBase: URL | null = null;
  try {
    const url = new URL(apiBaseText);
    if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new Error('not http(s)');
    if (url.protocol === 'http:' && !isLoopbackHost(url.hostname)) {
      results.push(
        fail(
          `API base ${apiBaseText} uses plain http:// to a host that is not loopback`,
          'Use https:// (plain http:// is accepted only for 127.0.0.1, ::1 and localhost, e.g. the emulator).',
        ),
      );
    } else if (url.pathname !== '/' || url.search || url.hash || url.username) {
      results.push(
        fail(
          `API base ${apiBaseText} is not an origin`,
          `Give the origin only, without path or query: e.g. ${DEFAULT_API_BASE} (set VMPRO_API_BASE or --api-base).`,
        ),
      );
    } else {
      apiBase = url;
      results.push(ok(`API base ${url.origin}`));
    }
  } catch {
    results.push(
      fail(
        `API base "${apiBaseText}" is not a URL`,
        `Set VMPRO_API_BASE (or --api-base) to e.g. ${DEFAULT_API_BASE}.`,
      ),
    );
  }

  // WebFinger → where the OpenID configuration is, and the expected issuer. A configured issuer
  // (bare, or its configuration URL) goes to the library as it is, as `issuer` would.
  const configuredIssuer = options.issuer ?? env('VMPRO_ISSUER');
  let target: string | WebfingerResult | null = null;
  let apiAnswer: Answer | null = null;
  if (configuredIssuer) {
    target = configuredIssuer;
    results.push(skip(`WebFinger not needed: the issuer is configured (${configuredIssuer})`));
  } else if (apiBase) {
    const origin = apiBase.origin;
    try {
      apiAnswer = await timed(ctx, () => webfingerRequest(origin, request));
    } catch (error) {
      results.push(stepFailure('WebFinger', error, () => FIX_REACH_API));
    }
    if (apiAnswer) {
      try {
        target = await processWebfingerResponse(origin, apiAnswer.response);
        results.push(webfingerForm(target, apiAnswer.response, origin));
      } catch (error) {
        results.push(
          stepFailure('WebFinger', error, (e) =>
            e.retryable ? `${FIX_LATER}${FIX_NO_LOGIN_SERVER}` : FIX_NO_LOGIN_SERVER,
          ),
        );
      }
    }
  } else {
    results.push(skip('WebFinger not checked: no valid API base'));
  }

  // OpenID configuration: the library's process step checks the required endpoints, the issuer
  // (exactly) and https on every endpoint; PKCE it leaves to the client, so it is checked here.
  let metadata: Readonly<OidcMetadata> | null = null;
  let loginAnswer: Answer | null = null;
  let loginOrigin: string | null = null;
  if (target) {
    const expected = target;
    try {
      loginAnswer = await timed(ctx, () => discoveryRequest(expected, request));
      // The send step accepted the target, so it is a URL.
      loginOrigin = new URL(typeof expected === 'string' ? expected : expected.configurationUrl).origin;
    } catch (error) {
      results.push(
        hasCode(error, 'VMPRO_CONFIG_INVALID')
          ? stepFailure('Issuer', error, () => FIX_ISSUER_SETTING)
          : stepFailure('OpenID configuration', error, () => FIX_REACH_LOGIN),
      );
    }
    if (loginAnswer) {
      try {
        metadata = await processDiscoveryResponse(expected, loginAnswer.response);
      } catch (error) {
        results.push(
          hasCode(error, 'VMPRO_ISSUER_MISMATCH')
            ? stepFailure('Issuer', error, () => FIX_ISSUER_MISMATCH)
            : stepFailure('OpenID configuration', error, (e) =>
                e.retryable ? `${FIX_LATER}${FIX_REACH_LOGIN}` : FIX_CONFIGURATION,
              ),
        );
      }
    }
    if (metadata) {
      results.push(
        ok(
          typeof expected === 'string'
            ? 'OpenID configuration of the configured issuer'
            : `OpenID configuration at ${expected.configurationUrl}`,
        ),
        ok(`Issuer ${metadata.issuer}`),
      );
      const methods: unknown = metadata.code_challenge_methods_supported;
      results.push(
        Array.isArray(methods) && methods.includes('S256')
          ? ok('PKCE with S256 supported')
          : fail(
              `PKCE S256 is not advertised (code_challenge_methods_supported: ${JSON.stringify(methods ?? null)})`,
              'Enable PKCE S256 on the login server; vmpro-connect always uses it and will not sign in without it.',
            ),
        ok(
          'Endpoints use https (or loopback http), as vmpro-connect checked while reading the configuration',
        ),
      );
    } else {
      results.push(skip('PKCE not checked: no usable OpenID configuration'));
    }
  } else {
    results.push(skip('OpenID configuration not checked: its URL is unknown'));
  }

  // Clock, per server, from the Date headers of the answers above (any status: the server dated it)
  const loginClock = loginAnswer ? measureSkew(loginAnswer) : null;
  const apiClock = apiAnswer ? measureSkew(apiAnswer) : null;
  const servers: ClockReading[] = [];
  if (loginClock && loginOrigin) {
    servers.push({ name: 'login server', origin: loginOrigin, skew: loginClock });
  }
  if (apiClock && apiBase) servers.push({ name: 'API', origin: apiBase.origin, skew: apiClock });
  for (const server of servers) results.push(clockResult(server, servers));
  if (!loginClock) results.push(skip('Clock of the login server not compared: no dated answer from it'));
  if (!apiClock) {
    results.push(
      skip(
        `Clock of the API not compared: ${configuredIssuer ? 'WebFinger was not needed' : 'no dated answer from it'}`,
      ),
    );
  }

  // Client
  const clientId = env('VMPRO_CLIENT_ID');
  const clientSecret = env('VMPRO_CLIENT_SECRET');
  if (!clientId && clientSecret) {
    results.push(
      fail(
        'VMPRO_CLIENT_SECRET is set but VMPRO_CLIENT_ID is not',
        'Set both (from movingimage), or neither to use the emulator.',
      ),
    );
  } else if (!clientId) {
    results.push(
      ok('VMPRO_CLIENT_ID not set: the demo (`npm start`, `vmpro dev`) starts the embedded emulator'),
    );
  } else if (!clientSecret) {
    results.push(
      warn(
        `VMPRO_CLIENT_ID is ${clientId}, VMPRO_CLIENT_SECRET is not set`,
        'Fine for a public client; movingimage registers code-flow clients as confidential, with a secret: set VMPRO_CLIENT_SECRET.',
      ),
    );
  } else {
    results.push(ok(`VMPRO_CLIENT_ID is ${clientId}, VMPRO_CLIENT_SECRET is set`));
  }

  // Session secret
  const secret = env('VMPRO_SESSION_SECRET');
  if (!secret) {
    results.push(
      warn(
        'VMPRO_SESSION_SECRET is not set: the demo makes a random one per start (sessions end on restart)',
        'Set VMPRO_SESSION_SECRET to 32+ random characters: `openssl rand -base64 32`.',
      ),
    );
  } else {
    try {
      const keys = parseSecrets(secret, 'VMPRO_SESSION_SECRET');
      results.push(
        ok(
          `VMPRO_SESSION_SECRET is set (${keys.length} key${keys.length > 1 ? 's' : ''}, each 32+ characters)`,
        ),
      );
    } catch (error) {
      results.push(
        fail(
          `VMPRO_SESSION_SECRET: ${(error as Error).message}`,
          'Use 32+ random characters per key (comma-separated for rotation): `openssl rand -base64 32`.',
        ),
      );
    }
  }

  // Session store
  const store = env('VMPRO_SESSION_STORE') ?? 'memory';
  if (store === 'memory' || store === 'cookie') {
    results.push(ok(`VMPRO_SESSION_STORE is ${store}${env('VMPRO_SESSION_STORE') ? '' : ' (the default)'}`));
  } else if (/^rediss?:\/\//.test(store)) {
    try {
      await pingRedis(store, timeoutMs);
      results.push(ok(`Redis at ${redactUrl(store)} answers PING`));
    } catch (error) {
      results.push(
        fail(
          `Redis at ${redactUrl(store)} does not answer: ${(error as Error).message}`,
          'Start Redis, or correct VMPRO_SESSION_STORE (redis://host:6379, rediss:// for TLS).',
        ),
      );
    }
  } else {
    let choice: StoreChoice | undefined;
    try {
      choice = parseSessionStore(store);
    } catch (error) {
      results.push(
        fail(
          `VMPRO_SESSION_STORE "${redactUrl(store)}" is not understood: ${(error as Error).message}`,
          `Use ${SESSION_STORE_FORMS}; e.g. redis://127.0.0.1:6379.`,
        ),
      );
    }
    if (choice?.kind === 'postgres') {
      try {
        await pingPostgres(choice.url, timeoutMs);
        results.push(ok(`${describeStore(choice)} answers SELECT 1`));
      } catch (error) {
        results.push(
          fail(
            `${describeStore(choice)} does not answer: ${(error as Error).message}`,
            'Start PostgreSQL, or correct VMPRO_SESSION_STORE (postgres://user:password@host:5432/database).',
          ),
        );
      }
    } else if (choice?.kind === 'redis-cluster') {
      try {
        await pingRedisCluster(choice, timeoutMs);
        results.push(ok(`${describeStore(choice)} answers, cluster_state:ok`));
      } catch (error) {
        results.push(
          fail(
            `${describeStore(choice)} does not answer as a healthy cluster: ${(error as Error).message}`,
            'Start the cluster, or correct VMPRO_SESSION_STORE (redis-cluster://host:port[,host:port…], the seed nodes).',
          ),
        );
      }
    }
  }

  // Credentials file
  const path = credentialsPath(ctx.env);
  const mode = await fileMode(path);
  if (mode === null) {
    results.push(ok(`No credentials file yet (${path}); \`vmpro login\` creates it`));
  } else if ((mode & 0o077) !== 0) {
    results.push(
      fail(
        `The credentials file ${path} has mode ${mode.toString(8).padStart(4, '0')}: others can read your tokens`,
        `Run \`chmod 600 ${path}\` (and consider \`vmpro logout\`, then \`vmpro login\`, if others may have read it).`,
      ),
    );
  } else {
    try {
      await readCredentials(path);
      results.push(ok(`Credentials file ${path} is private (mode ${mode.toString(8).padStart(4, '0')})`));
    } catch (error) {
      results.push(
        fail(
          describeError(error)[0] ?? 'The credentials file cannot be read',
          'Run `vmpro login` to replace it.',
        ),
      );
    }
  }
  return results;
}

/**
 * Prints one line per check (✔ ok, ✘ failure with a fix, ! warning, – skipped). Returns 1 when
 * any check failed.
 *
 * @example
 * ```ts
 * const code = await doctor({}, { env: process.env, stdout: process.stdout, stderr: process.stderr });
 * ```
 */
export function doctor(options: DoctorOptions, ctx: CliContext): Promise<number> {
  return guard(ctx, async () => {
    const results = await runChecks(options, ctx);
    for (const r of results) {
      say(ctx.stdout, `${MARK[r.status]} ${r.title}`);
      if (r.fix) say(ctx.stdout, `    fix: ${r.fix}`);
    }
    const failed = results.filter((r) => r.status === 'fail').length;
    say(
      ctx.stdout,
      '',
      failed === 0 ? 'All checks passed.' : `${failed} check${failed > 1 ? 's' : ''} failed.`,
    );
    return failed === 0 ? 0 : 1;
  });
}
