/**
 * Escapes text for HTML element content and quoted attribute values: `&`, `<`, `>`, `"`, `'` and
 * the backtick become numeric character references. The CLI's loopback page and the demo's pages
 * use it; the library keeps its own copy internal (it is not part of its public surface).
 *
 * @example
 * ```ts
 * `<p>${escapeHtml(error.message)}</p>`
 * ```
 */
export function escapeHtml(value: string): string {
  return value.replace(/[&<>"'`]/g, (c) => `&#${c.charCodeAt(0)};`);
}
