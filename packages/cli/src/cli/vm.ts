/**
 * What the VideoManager commands (`videos`, `channels`, `search`) share: the API client of the
 * stored login, and which VideoManager a command works on (`--vm`, `VMPRO_VM`, or the only one
 * the user has).
 */
import { createVmproApiClient, type VideoManager, type VmproApiClient } from 'vmpro-connect/api';
import type { CliContext } from './context.js';
import { CliFailure, EXIT_CODES, UsageError } from './errors.js';
import { CliSession } from './session.js';
import { clean } from './table.js';

/** The environment variable that picks the VideoManager when `--vm` is not given. */
export const VM_ENV = 'VMPRO_VM';

/**
 * The API client for the stored login (refreshing it as needed), using the context's `fetch`.
 * Fails with exit code 3 when there is no login.
 *
 * @example
 * ```ts
 * const api = await apiClient(ctx);
 * const vms = await api.vms.list();
 * ```
 */
export async function apiClient(ctx: CliContext): Promise<VmproApiClient> {
  const session = await CliSession.load(ctx);
  return createVmproApiClient({
    baseUrl: session.login.apiBase,
    tokenSource: session.tokenSource(),
    userAgent: 'vmpro-cli',
    ...(ctx.fetch !== undefined && { fetch: ctx.fetch }),
  });
}

/** The VideoManager a command works on; `name` is known when it came from `GET /v1/vms`. */
export interface ChosenVm {
  id: number;
  name?: string | undefined;
}

/** `VideoManager 1001 (Demo Marketing)` or `VideoManager 1001`. */
export function vmLabel(vm: ChosenVm): string {
  return vm.name ? `VideoManager ${vm.id} (${clean(vm.name)})` : `VideoManager ${vm.id}`;
}

function vmFromEnv(ctx: CliContext, command: string): number | undefined {
  const raw = ctx.env[VM_ENV]?.trim();
  if (raw === undefined || raw === '') return undefined;
  if (!/^\d+$/.test(raw) || !Number.isSafeInteger(Number(raw)) || Number(raw) < 1) {
    throw new UsageError(
      `${VM_ENV}=${JSON.stringify(raw)} is not a VideoManager ID (a whole number such as 319); fix or unset it`,
      command,
    );
  }
  return Number(raw);
}

/**
 * The VideoManager to use: `--vm`, else `VMPRO_VM`, else the user's only one (asks
 * `GET /v1/vms`). With several, fails (exit 2) listing them and how to choose; with none,
 * fails (exit 1) saying the account has no VideoManager.
 *
 * @example
 * ```ts
 * const vm = await chooseVm(api, options.vm, 'videos list', ctx); // { id: 1001, name: 'Demo Marketing' }
 * ```
 */
export async function chooseVm(
  api: VmproApiClient,
  vm: number | undefined,
  command: string,
  ctx: CliContext,
): Promise<ChosenVm> {
  const given = vm ?? vmFromEnv(ctx, command);
  if (given !== undefined) return { id: given };
  const vms: VideoManager[] = await api.vms.list({ signal: ctx.signal });
  if (vms.length === 1) return { id: vms[0]!.id, name: vms[0]!.name };
  if (vms.length === 0) {
    throw new CliFailure(
      'Your login can reach no VideoManager (GET /v1/vms answered an empty list).',
      'Likely cause: this account has no access to a VideoManager Pro yet.',
      'Fix: ask an administrator of your VideoManager Pro to add the account, or sign in as another user with `vmpro login`.',
    );
  }
  const idWidth = Math.max(...vms.map((each) => String(each.id).length));
  const first = vms[0]!.id;
  throw new CliFailure(
    `Your login can reach ${vms.length} VideoManagers; say which one to use:`,
    ...vms.map((each) => `  ${String(each.id).padEnd(idWidth)}  ${clean(each.name ?? '')}`),
    `Choose with --vm, e.g. \`vmpro ${command} --vm ${first}\`, or set ${VM_ENV}=${first} for every command.`,
  ).withExitCode(EXIT_CODES.usage);
}
