/**
 * Escapes text for HTML element content and quoted attribute values: `&`, `<`, `>`, `"`, `'` and
 * the backtick become numeric character references.
 *
 * @example
 * ```ts
 * `<p>${escapeHtml(error.message)}</p><a href="${escapeHtml(loginPath)}">Sign in</a>`
 * ```
 */
export function escapeHtml(value: string): string {
  return value.replace(/[&<>"'`]/g, (c) => `&#${c.charCodeAt(0)};`);
}
