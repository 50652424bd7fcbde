/**
 * The reference server: a small Hono app on the `web` adapter and the API client. Its routes are
 * the contract the end-to-end tests use (see the README's table).
 */
import { createHash } from 'node:crypto';
import { Hono } from 'hono';
import type { VmproAuth, VmproContext } from 'vmpro-connect/http';
import type { SessionRecord } from 'vmpro-connect/session';
import { vmproWeb } from 'vmpro-connect/web';
import { escapeHtml } from '../html.js';

type Env = { Variables: { vmpro: VmproContext } };

const iso = (ms: number | null | undefined): string | null =>
  typeof ms === 'number' ? new Date(ms).toISOString() : null;

/** `GET /me`'s body: who is logged in, and until when their tokens run. */
export function meBody(session: SessionRecord) {
  return {
    sub: session.user.sub,
    name: session.user.name ?? null,
    email: session.user.email ?? null,
    accessTokenExpiresAt: iso(session.tokens.accessTokenExpiresAt),
    refreshTokenExpiresAt: iso(session.tokens.refreshTokenExpiresAt),
  };
}

/** Builds the demo app around an auth instance. */
export function createDemoApp(auth: VmproAuth): Hono<Env> {
  const vmpro = vmproWeb(auth);
  const app = new Hono<Env>();

  app.get('/healthz', (c) => c.text('ok'));

  app.use(vmpro.hono());
  app.onError(vmpro.honoErrorHandler());

  app.get('/me', vmpro.honoRequireLogin(), async (c) => {
    const session = await c.get('vmpro').requireSession();
    return c.json(meBody(session), 200, { 'cache-control': 'no-store' });
  });

  app.get('/api/vms', vmpro.honoRequireLogin(), async (c) => {
    const vms = await c.get('vmpro').api.vms.list();
    return c.json(vms, 200, { 'cache-control': 'no-store' });
  });

  app.get('/', async (c) => {
    const ctx = c.get('vmpro');
    const session = await ctx.session();
    const { routes } = auth.options;
    if (!session) {
      return c.html(
        page(
          'VideoManager Pro demo',
          `<h1>VideoManager Pro demo</h1><p>Sign in with your VideoManager Pro account to see your VideoManagers.</p>
<p><a class="button" id="sign-in" href="${escapeHtml(routes.login)}?returnTo=%2F">Sign in</a></p>`,
        ),
        200,
        { 'cache-control': 'no-store', 'content-security-policy': await pageCsp(auth) },
      );
    }
    let vmsHtml: string;
    try {
      const vms = await ctx.api.vms.list();
      vmsHtml =
        vms.length === 0
          ? '<p id="vms">This account has no VideoManagers.</p>'
          : `<ul id="vms">${vms.map((vm) => `<li>${escapeHtml(vm.name)} <small>(id ${escapeHtml(String(vm.id))})</small></li>`).join('')}</ul>`;
    } catch (error) {
      const m = auth.errorResponse(c.req.raw, error);
      if (m.status === 401) return auth.unauthenticated(c.req.raw);
      vmsHtml = `<p id="vms" class="error">The VideoManagers could not be loaded (HTTP ${m.status}). Reload to try again.</p>`;
    }
    // After the API call above the tokens may have been refreshed: show the current ones.
    const tokens = await ctx.tokens().catch(() => session.tokens);
    const name = session.user.name ?? session.user.preferred_username ?? session.user.sub;
    return c.html(
      page(
        'VideoManager Pro demo',
        `<h1>Hello, <span id="user-name">${escapeHtml(name)}</span></h1>
<p>Access token valid for <strong data-expires="${tokens.accessTokenExpiresAt ?? ''}" id="at">…</strong>,
refresh token for <strong data-expires="${tokens.refreshTokenExpiresAt ?? ''}" id="rt">…</strong>.</p>
<h2>Your VideoManagers</h2>${vmsHtml}
<p><button id="reload-vms" type="button">Call the API again</button></p>
<form method="post" action="${escapeHtml(routes.logout)}"><button id="sign-out" type="submit">Sign out</button></form>`,
        COUNTDOWN_SCRIPT,
      ),
      200,
      { 'cache-control': 'no-store', 'content-security-policy': await pageCsp(auth) },
    );
  });

  return app;
}

const COUNTDOWN_SCRIPT = `
function tick() {
  for (const el of document.querySelectorAll('[data-expires]')) {
    const at = Number(el.dataset.expires);
    if (!at) { el.textContent = 'no expiry'; continue; }
    const s = Math.max(0, Math.round((at - Date.now()) / 1000));
    el.textContent = s > 0 ? Math.floor(s / 60) + ' min ' + (s % 60) + ' s' : 'expired';
  }
}
async function reload() {
  const r = await fetch('/api/vms', { headers: { accept: 'application/json' } });
  if (r.status === 401) { location.href = '/auth/login?returnTo=%2F'; return; }
  const me = await fetch('/me', { headers: { accept: 'application/json' } });
  if (me.ok) {
    const m = await me.json();
    document.getElementById('at').dataset.expires = String(Date.parse(m.accessTokenExpiresAt) || '');
    document.getElementById('rt').dataset.expires = String(Date.parse(m.refreshTokenExpiresAt) || '');
  }
  tick();
}
document.getElementById('reload-vms').addEventListener('click', reload);
tick(); setInterval(tick, 1000);
`;

const SCRIPT_HASH = `'sha256-${createHash('sha256').update(COUNTDOWN_SCRIPT).digest('base64')}'`;

/**
 * The page's CSP. `form-action` also covers the redirects after a form post, so the sign-out
 * form must be allowed to end up at the login server's end-session endpoint.
 */
async function pageCsp(auth: VmproAuth): Promise<string> {
  let loginServer = '';
  try {
    const endSession = (await auth.oidc()).metadata.end_session_endpoint;
    if (endSession) loginServer = ` ${new URL(endSession).origin}`;
  } catch {
    // discovery failed: the page still works, signing out then ends the local session only
  }
  return `default-src 'none'; script-src ${SCRIPT_HASH}; style-src 'unsafe-inline'; connect-src 'self'; form-action 'self'${loginServer}; frame-ancestors 'none'; base-uri 'none'`;
}

function page(title: string, body: string, script?: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:44rem;margin:3rem auto;padding:0 1rem;color:#1b1f24}
a.button,button{display:inline-block;padding:.5rem 1rem;background:#0a5bd8;color:#fff;border:0;border-radius:6px;text-decoration:none;font:inherit;cursor:pointer}
form{margin-top:1rem}.error{color:#b42318}small{color:#667085}</style></head>
<body>${body}${script ? `<script>${script}</script>` : ''}</body></html>`;
}
