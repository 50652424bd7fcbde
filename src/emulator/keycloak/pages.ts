/**
 * The HTML pages of the emulated login server. Everything echoed into a page goes through
 * {@link escapeHtml}; the pages carry no scripts.
 */

/** Escapes text for use in HTML element content and double-quoted attribute values. */
export function escapeHtml(value: string): string {
  return value
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

const STYLE = `
  :root { color-scheme: light; font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
  body { margin: 0; background: #eef1f5; color: #1f2933; }
  main { max-width: 26rem; margin: 8vh auto; background: #fff; border-radius: 8px; padding: 2rem 2.25rem;
         box-shadow: 0 2px 10px rgba(15, 23, 42, .12); }
  main.wide { max-width: 44rem; }
  h1 { font-size: 1.35rem; margin: 0 0 1.25rem; }
  .badge { display: inline-block; font-size: .7rem; font-weight: 600; letter-spacing: .04em; text-transform: uppercase;
           color: #8a4b00; background: #fff3d6; border-radius: 4px; padding: .15rem .45rem; margin-bottom: .75rem; }
  label { display: block; font-weight: 600; margin: .9rem 0 .3rem; }
  input[type=text], input[type=password] { width: 100%; box-sizing: border-box; padding: .55rem .65rem; font-size: 1rem;
           border: 1px solid #b8c2cc; border-radius: 4px; }
  .actions { display: flex; gap: .75rem; margin-top: 1.5rem; }
  button { font-size: 1rem; padding: .55rem 1.1rem; border-radius: 4px; border: 1px solid #0b5cad; cursor: pointer; }
  button.primary { background: #0b5cad; color: #fff; flex: 1; }
  button.secondary { background: #fff; color: #0b5cad; }
  .error { background: #fdecea; color: #8a1c12; border-left: 4px solid #d93025; padding: .6rem .8rem; margin-bottom: 1rem; }
  .muted { color: #52606d; font-size: .9rem; }
  code { background: #f3f4f6; padding: .05rem .3rem; border-radius: 3px; }
  table { border-collapse: collapse; width: 100%; margin: .5rem 0 1rem; }
  th, td { text-align: left; padding: .35rem .5rem; border-bottom: 1px solid #e4e7eb; font-size: .92rem; }
`;

function layout(title: string, body: string, wide = false): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>${escapeHtml(title)}</title>
<style>${STYLE}</style>
</head>
<body>
<main${wide ? ' class="wide"' : ''}>
<div class="badge">VideoManager Pro emulator — for development and tests only</div>
${body}
</main>
</body>
</html>
`;
}

/** The title of the login page (a browser test looks for it). */
export const LOGIN_PAGE_TITLE = 'Sign in to VideoManager Pro (emulator)';

/** What the login form shows. */
export interface LoginPageInput {
  /** Where the form posts to. */
  action: string;
  /** Opaque id of the server-side pending login. */
  loginId: string;
  clientId: string;
  /** Pre-filled username (after a failed attempt or from `login_hint`). */
  username?: string | undefined;
  error?: string | undefined;
}

/** The Keycloak-like login form: fields `username`, `password`, submit `kc-login`, cancel `kc-cancel`. */
export function loginPage(input: LoginPageInput): string {
  const error = input.error
    ? `<div class="error" id="input-error" role="alert">${escapeHtml(input.error)}</div>`
    : '';
  return layout(
    LOGIN_PAGE_TITLE,
    `<h1>${escapeHtml(LOGIN_PAGE_TITLE)}</h1>
<p class="muted">The application <code>${escapeHtml(input.clientId)}</code> asks you to sign in.</p>
${error}
<form id="kc-form-login" method="post" action="${escapeHtml(input.action)}">
<input type="hidden" name="login_id" value="${escapeHtml(input.loginId)}">
<label for="username">Username or email</label>
<input type="text" id="username" name="username" value="${escapeHtml(input.username ?? '')}" autocomplete="username" autofocus>
<label for="password">Password</label>
<input type="password" id="password" name="password" autocomplete="current-password">
<div class="actions">
<button type="submit" class="primary" id="kc-login" name="login" value="Sign In">Sign In</button>
<button type="submit" class="secondary" id="kc-cancel" name="cancel" value="on">Cancel</button>
</div>
</form>`,
  );
}

/** An error page for requests that must not be redirected (unknown client, bad redirect URI…). */
export function errorPage(title: string, message: string): string {
  return layout(
    title,
    `<h1>${escapeHtml(title)}</h1>
<div class="error" id="kc-error-message" role="alert">${escapeHtml(message)}</div>
<p class="muted">Nothing was sent back to the application.</p>`,
  );
}

/** Shown after logout when there is nowhere to redirect to. */
export function loggedOutPage(): string {
  return layout(
    'You are logged out',
    `<h1>You are logged out</h1>
<p>Your VideoManager Pro (emulator) session has ended.</p>`,
  );
}

/** Asks the user to confirm a logout that came without a valid `id_token_hint` (as Keycloak 18+ does). */
export function logoutConfirmPage(action: string, logoutId: string): string {
  return layout(
    'Logging out',
    `<h1>Do you want to log out?</h1>
<form method="post" action="${escapeHtml(action)}">
<input type="hidden" name="logout_id" value="${escapeHtml(logoutId)}">
<div class="actions">
<button type="submit" class="primary" id="kc-logout" name="confirmLogout" value="Logout">Logout</button>
</div>
</form>`,
  );
}

/** What the emulator's home page lists. */
export interface HomePageInput {
  issuer: string;
  apiBase: string;
  users: ReadonlyArray<{ username: string; password: string; name: string }>;
  clients: ReadonlyArray<{ clientId: string; redirectUris: string[]; publicClient?: boolean | undefined }>;
}

/** `GET /` of the emulator origin: where things are and how to sign in. */
export function homePage(input: HomePageInput): string {
  const users = input.users
    .map(
      (u) =>
        `<tr><td><code>${escapeHtml(u.username)}</code></td><td><code>${escapeHtml(u.password)}</code></td><td>${escapeHtml(u.name)}</td></tr>`,
    )
    .join('\n');
  const clients = input.clients
    .map(
      (c) =>
        `<tr><td><code>${escapeHtml(c.clientId)}</code></td><td>${c.publicClient ? 'public' : 'confidential'}</td><td>${c.redirectUris.map((u) => `<code>${escapeHtml(u)}</code>`).join('<br>') || '—'}</td></tr>`,
    )
    .join('\n');
  const discovery = `${input.issuer}/.well-known/openid-configuration`;
  return layout(
    'VideoManager Pro emulator',
    `<h1>VideoManager Pro emulator</h1>
<p class="muted">A local stand-in for movingimage's login server (Keycloak realm <code>platform</code>) and the
VideoManager Pro REST API. It has no security: use it for development and tests only.</p>
<table>
<tr><th>Issuer</th><td><code id="issuer">${escapeHtml(input.issuer)}</code></td></tr>
<tr><th>Discovery</th><td><code>${escapeHtml(discovery)}</code></td></tr>
<tr><th>API base</th><td><code id="api-base">${escapeHtml(input.apiBase)}</code></td></tr>
</table>
<h2>Demo users</h2>
<table><tr><th>Username</th><th>Password</th><th>Name</th></tr>
${users}
</table>
<h2>Clients</h2>
<table><tr><th>Client ID</th><th>Type</th><th>Redirect URIs</th></tr>
${clients}
</table>`,
    true,
  );
}
