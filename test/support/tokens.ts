/**
 * An access token for the emulator's demo user through movingimage's documented "anonymous"
 * scenario (the password grant with the public client), for tests and benchmarks that need a
 * token without going through the library under test.
 */
export async function anonymousToken(issuer: string, signal?: AbortSignal): Promise<string> {
  const response = await fetch(`${issuer}/protocol/openid-connect/token`, {
    method: 'POST',
    body: new URLSearchParams({
      grant_type: 'password',
      client_id: 'anonymous',
      username: 'demo',
      password: 'demo',
      scope: 'openid',
    }),
    signal: signal ?? null,
  });
  if (!response.ok) throw new Error(`the emulator refused the password grant (${response.status})`);
  const body = (await response.json()) as { access_token: string };
  return body.access_token;
}
