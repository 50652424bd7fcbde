/** `vmpro channels`: the channel tree of a VideoManager, with the stored login. */
import type { Channel } from 'vmpro-connect/api';
import { type CliContext, say } from '../context.js';
import { guard } from '../errors.js';
import { clean, terminalWidth, truncate } from '../table.js';
import { apiClient, chooseVm, vmLabel } from '../vm.js';

export interface ChannelsOptions {
  vm?: number | undefined;
  /** Print the tree as the API answers it (the root with its `children`). */
  json?: boolean | undefined;
}

const byName = (a: Channel, b: Channel) => a.name.localeCompare(b.name) || a.id - b.id;

/**
 * The tree as lines `ID  name`, children below their parent, indented with tree lines and
 * sorted by name (the API does not sort them).
 *
 * @example
 * ```ts
 * channelTreeLines({ id: 1, name: 'Root', children: [{ id: 2, name: 'Events' }] });
 * // ['ID  CHANNEL', '1   Root', '2   └─ Events']
 * ```
 */
export function channelTreeLines(root: Channel, maxWidth?: number | undefined): string[] {
  const rows: [string, string][] = [];
  const walk = (channel: Channel, prefix: string, branch: string) => {
    rows.push([String(channel.id), `${branch}${clean(channel.name)}`]);
    const children = [...(channel.children ?? [])].sort(byName);
    children.forEach((child, index) => {
      const last = index === children.length - 1;
      walk(child, `${prefix}${last ? '   ' : '│  '}`, `${prefix}${last ? '└─ ' : '├─ '}`);
    });
  };
  walk(root, '', '');
  const idWidth = Math.max(2, ...rows.map(([id]) => id.length));
  const nameRoom = maxWidth === undefined ? Number.POSITIVE_INFINITY : Math.max(12, maxWidth - idWidth - 2);
  return [
    `${'ID'.padEnd(idWidth)}  CHANNEL`,
    ...rows.map(([id, name]) => `${id.padEnd(idWidth)}  ${truncate(name, nameRoom)}`),
  ];
}

function countChannels(channel: Channel): number {
  return 1 + (channel.children ?? []).reduce((sum, child) => sum + countChannels(child), 0);
}

/**
 * Prints the channel tree of a VideoManager (IDs and names, sub-channels indented), or with
 * `json` the tree as the API answers it. Returns the exit code.
 *
 * @example
 * ```ts
 * await channels({ vm: 1001 }, { env: process.env, stdout: process.stdout, stderr: process.stderr });
 * ```
 */
export function channels(options: ChannelsOptions, ctx: CliContext): Promise<number> {
  return guard(ctx, async () => {
    const api = await apiClient(ctx);
    const vm = await chooseVm(api, options.vm, 'channels', ctx);
    const tree = await api.channels.tree(vm.id, { signal: ctx.signal });
    if (options.json) {
      say(ctx.stdout, JSON.stringify(tree, null, 2));
      return 0;
    }
    say(ctx.stdout, ...channelTreeLines(tree, terminalWidth(ctx.stdout)));
    const count = countChannels(tree);
    say(
      ctx.stdout,
      '',
      `${count} channel${count === 1 ? '' : 's'} in ${vmLabel(vm)}. Videos of one: vmpro videos list --vm ${vm.id} --channel ${[...(tree.children ?? [])].sort(byName)[0]?.id ?? tree.id}`,
    );
    return 0;
  });
}
