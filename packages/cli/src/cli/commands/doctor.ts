/**
 * `vmpro doctor`: checks the set-up one step at a time (Node, API base, WebFinger, OpenID
 * configuration, issuer, PKCE, https endpoints, clock, client, session secret and store, the
 * credentials file) and prints ✔/✘ with a fix for each failure.
 */

import { DEFAULT_API_BASE, DEFAULT_CLOCK_TOLERANCE_SEC, ISSUER_LINK_REL } from 'vmpro-connect';
import { parseSecrets } from '../../demo/env.js';
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
const WELL_KNOWN = '/.well-known/openid-configuration';
/** A clock difference above this is worth fixing before it grows past the tolerance. */
const WARN_SKEW_MS = 10_000;
const ENDPOINT_FIELDS = [
  'authorization_endpoint',
  'token_endpoint',
  'jwks_uri',
  'userinfo_endpoint',
  'end_session_endpoint',
  'revocation_endpoint',
  'introspection_endpoint',
];

class Problem extends Error {
  constructor(
    message: string,
    readonly fix: string,
  ) {
    super(message);
  }
}

const ok = (title: string): CheckResult => ({ status: 'ok', title });
const fail = (title: string, fix: string): CheckResult => ({ status: 'fail', title, fix });
const warn = (title: string, fix: string): CheckResult => ({ status: 'warn', title, fix });
const skip = (title: string): CheckResult => ({ status: 'skip', title });

function isSecureOrLoopback(url: URL): boolean {
  return url.protocol === 'https:' || (url.protocol === 'http:' && isLoopbackHost(url.hostname));
}

function networkReason(error: unknown): string {
  if ((error as Error | null)?.name === 'TimeoutError') return 'no answer in time';
  const cause = (error as { cause?: { code?: unknown; message?: unknown } } | null)?.cause;
  if (typeof cause?.code === 'string') return cause.code;
  if (typeof cause?.message === 'string') return cause.message;
  return error instanceof Error ? error.message : String(error);
}

interface Fetched {
  body: Record<string, unknown>;
  response: Response;
  /** Local clock when the request was sent and when the answer's headers arrived, epoch ms. */
  sentAt: number;
  receivedAt: number;
}

async function getJson(
  ctx: CliContext,
  url: string,
  accept: string,
  what: string,
  timeoutMs: number,
  fix: string,
) {
  const started = clock(ctx);
  const signals = [AbortSignal.timeout(timeoutMs), ...(ctx.signal ? [ctx.signal] : [])];
  let response: Response;
  try {
    response = await (ctx.fetch ?? fetch)(url, {
      headers: { accept },
      redirect: 'manual',
      signal: AbortSignal.any(signals),
    });
  } catch (error) {
    throw new Problem(`${what} at ${url} cannot be reached: ${networkReason(error)}`, fix);
  }
  const ended = clock(ctx);
  const text = await response.text().catch(() => '');
  if (response.status !== 200) {
    throw new Problem(`${what} at ${url} answered HTTP ${response.status}`, fix);
  }
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new Problem(
      `${what} at ${url} is not JSON (content-type ${response.headers.get('content-type') ?? 'none'})`,
      fix,
    );
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new Problem(`${what} at ${url} is not a JSON object`, fix);
  }
  return {
    body: body as Record<string, unknown>,
    response,
    sentAt: started,
    receivedAt: ended,
  } satisfies Fetched;
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
function measureSkew(answer: Fetched): Skew | null {
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

  // API base
  const apiBaseText = options.apiBase ?? env('VMPRO_API_BASE') ?? DEFAULT_API_BASE;
  let apiBase: URL | null = null;
  try {
    const url = new URL(apiBaseText);
    if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new Error('not http(s)');
    if (!isSecureOrLoopback(url)) {
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

  // WebFinger → where the OpenID configuration is, and the expected issuer
  const configuredIssuer = options.issuer ?? env('VMPRO_ISSUER');
  let expectedIssuer: string | null = null;
  let configurationUrl: string | null = null;
  let apiAnswer: Fetched | null = null;
  if (configuredIssuer) {
    const bare = configuredIssuer.endsWith(WELL_KNOWN)
      ? configuredIssuer.slice(0, -WELL_KNOWN.length)
      : configuredIssuer;
    expectedIssuer = bare;
    configurationUrl = `${bare.replace(/\/+$/, '')}${WELL_KNOWN}`;
    results.push(skip(`WebFinger not needed: the issuer is configured (${bare})`));
  } else if (apiBase) {
    const resource = `${apiBase.origin}/v1/`;
    const url = `${apiBase.origin}/.well-known/webfinger?resource=${encodeURIComponent(resource)}`;
    try {
      apiAnswer = await getJson(
        ctx,
        url,
        'application/jrd+json, application/json',
        'WebFinger',
        timeoutMs,
        'Check VMPRO_API_BASE and the network (for the emulator: is `vmpro emulator` running?), or set VMPRO_ISSUER to skip WebFinger.',
      );
      const { body, response } = apiAnswer;
      const links = Array.isArray(body.links) ? (body.links as Record<string, unknown>[]) : [];
      const link = links.find((l) => l?.rel === ISSUER_LINK_REL && typeof l.href === 'string');
      if (!link) {
        throw new Problem(
          `WebFinger at ${url} has no link with rel "${ISSUER_LINK_REL}"`,
          'This host does not announce a login server: check VMPRO_API_BASE, or set VMPRO_ISSUER.',
        );
      }
      const href = link.href as string;
      const movingimageForm = href.endsWith(WELL_KNOWN);
      expectedIssuer = movingimageForm ? href.slice(0, -WELL_KNOWN.length) : href;
      configurationUrl = movingimageForm ? href : `${href.replace(/\/+$/, '')}${WELL_KNOWN}`;
      const jrd = (response.headers.get('content-type') ?? '').includes('application/jrd+json');
      if (movingimageForm && body.subject === resource && jrd) {
        results.push(ok(`WebFinger in movingimage's form: the issuer link is ${href}`));
      } else {
        const differences = [
          movingimageForm ? '' : 'the issuer link is a bare issuer, not the configuration URL',
          body.subject === resource ? '' : `the subject is ${JSON.stringify(body.subject)}, not ${resource}`,
          jrd ? '' : 'the content type is not application/jrd+json',
        ].filter(Boolean);
        results.push(
          warn(
            `WebFinger works but differs from movingimage's form: ${differences.join('; ')}`,
            "vmpro-connect copes with this; a real movingimage API host answers in movingimage's form, so check VMPRO_API_BASE.",
          ),
        );
      }
    } catch (error) {
      results.push(problemResult(error));
    }
  } else {
    results.push(skip('WebFinger not checked: no valid API base'));
  }

  // OpenID configuration
  let metadata: Record<string, unknown> | null = null;
  let dated: Fetched | null = null;
  if (configurationUrl) {
    try {
      dated = await getJson(
        ctx,
        configurationUrl,
        'application/json',
        'The OpenID configuration',
        timeoutMs,
        'Check the issuer (VMPRO_ISSUER, or the WebFinger answer) and the network.',
      );
      metadata = dated.body;
      const missing = ['issuer', 'authorization_endpoint', 'token_endpoint', 'jwks_uri'].filter(
        (f) => typeof metadata?.[f] !== 'string',
      );
      results.push(
        missing.length === 0
          ? ok(`OpenID configuration at ${configurationUrl}`)
          : fail(
              `The OpenID configuration at ${configurationUrl} lacks ${missing.join(', ')}`,
              'The URL does not point to a login server realm: check VMPRO_ISSUER / VMPRO_API_BASE.',
            ),
      );
    } catch (error) {
      results.push(problemResult(error));
    }
  } else {
    results.push(skip('OpenID configuration not checked: its URL is unknown'));
  }

  if (metadata) {
    // Issuer
    results.push(
      metadata.issuer === expectedIssuer
        ? ok(`Issuer ${expectedIssuer}`)
        : fail(
            `The OpenID configuration names the issuer ${JSON.stringify(metadata.issuer)}, but ${JSON.stringify(expectedIssuer)} was expected`,
            'The login server announces the wrong public URL (Keycloak: set hostname / frontendUrl), or the configured issuer is misspelled. Do not work around this: tokens are checked against the issuer.',
          ),
    );
    // PKCE
    const methods = metadata.code_challenge_methods_supported;
    results.push(
      Array.isArray(methods) && methods.includes('S256')
        ? ok('PKCE with S256 supported')
        : fail(
            `PKCE S256 is not advertised (code_challenge_methods_supported: ${JSON.stringify(methods ?? null)})`,
            'Enable PKCE S256 on the login server; vmpro-connect always uses it and will not sign in without it.',
          ),
    );
    // Endpoints
    const insecure = ENDPOINT_FIELDS.filter((field) => {
      const value = metadata?.[field];
      if (value === undefined) return false;
      try {
        return !isSecureOrLoopback(new URL(String(value)));
      } catch {
        return true;
      }
    });
    results.push(
      insecure.length === 0
        ? ok('Endpoints use https (or loopback http)')
        : fail(
            `Endpoints not on https: ${insecure.map((f) => `${f} ${String(metadata?.[f])}`).join(', ')}`,
            'Serve the login server over https (plain http only on 127.0.0.1/::1/localhost).',
          ),
    );
  }

  // Clock, per server, from the Date headers of the answers above
  const loginClock = dated && configurationUrl ? measureSkew(dated) : null;
  const apiClock = apiAnswer && apiBase ? measureSkew(apiAnswer) : null;
  const servers: ClockReading[] = [];
  if (loginClock && configurationUrl) {
    servers.push({ name: 'login server', origin: new URL(configurationUrl).origin, skew: loginClock });
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
    results.push(
      fail(
        `VMPRO_SESSION_STORE "${store}" is not understood`,
        'Use memory, cookie, or a redis:// URL such as redis://127.0.0.1:6379.',
      ),
    );
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

function problemResult(error: unknown): CheckResult {
  if (error instanceof Problem) return fail(error.message, error.fix);
  return fail(describeError(error).join(' '), 'See the message above.');
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
