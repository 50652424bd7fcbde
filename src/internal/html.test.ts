import { expect, test } from 'vitest';
import { escapeHtml } from './html.js';

test('escapes every character that could end text or a quoted attribute', () => {
  expect(escapeHtml(`<a href="x" title='y'>&\`</a>`)).toBe(
    '&#60;a href=&#34;x&#34; title=&#39;y&#39;&#62;&#38;&#96;&#60;/a&#62;',
  );
});

test('leaves other text alone', () => {
  expect(escapeHtml('Sign in – /auth/login?returnTo=%2F')).toBe('Sign in – /auth/login?returnTo=%2F');
});
