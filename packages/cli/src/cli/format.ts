/** Small text helpers for what `vmpro` prints. */
import type { IdTokenClaims } from 'vmpro-connect';

const pad = (n: number) => String(n).padStart(2, '0');

/** Local time as `YYYY-MM-DD HH:MM:SS`. */
export function localTime(at: number): string {
  const d = new Date(at);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

/** A duration as `1 h 5 min`, `4 min 50 s`, `12 s`. */
export function duration(ms: number): string {
  const total = Math.max(0, Math.round(ms / 1000));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  if (h > 0) return m > 0 ? `${h} h ${m} min` : `${h} h`;
  if (m > 0) return s > 0 ? `${m} min ${s} s` : `${m} min`;
  return `${s} s`;
}

/** `2025-01-01 12:00:00 (in 4 min 50 s)`, `… (3 min ago)`, or `unknown`. */
export function expiry(at: number | null, now: number): string {
  if (at === null) return 'unknown (the server did not say)';
  return at > now
    ? `${localTime(at)} (in ${duration(at - now)})`
    : `${localTime(at)} (${duration(now - at)} ago)`;
}

/** `Dana Demo <dana.demo@example.com>`, or whatever part of it the claims have. */
export function who(claims: IdTokenClaims | null): string {
  if (!claims) return 'an unknown user (the login server sent no ID token)';
  const name = typeof claims.name === 'string' && claims.name ? claims.name : claims.preferred_username;
  const email = typeof claims.email === 'string' && claims.email ? claims.email : undefined;
  if (name && email) return `${name} <${email}>`;
  return name ?? email ?? `the user ${claims.sub}`;
}
