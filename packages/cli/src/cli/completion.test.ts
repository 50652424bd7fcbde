/**
 * `vmpro completion bash|zsh|fish`: the scripts are run in the real shells. bash: the script is
 * sourced, COMP_WORDS/COMP_CWORD set and the completion function called, COMPREPLY read. zsh:
 * syntax-checked, then its function run with compsys's builtins replaced by ones that print
 * what they were given. fish: syntax-checked, then `complete -C` asked. zsh and fish tests are
 * skipped (saying so) where those shells are not installed.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { afterAll, describe, expect, it } from 'vitest';
import { completionScript, describeProgram, type Shell } from './commands/completion.js';
import type { CliContext } from './context.js';
import { createProgram, runCli } from './program.js';

const dir = mkdtempSync(join(tmpdir(), 'vmpro-completion-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function quietContext(): CliContext & { out: () => string; err: () => string } {
  let out = '';
  let err = '';
  return {
    env: {},
    stdout: { write: (s: string) => (out += s) },
    stderr: { write: (s: string) => (err += s) },
    out: () => out,
    err: () => err,
  };
}

/** What `vmpro completion <shell>` prints, written to a file. */
async function scriptFile(shell: Shell): Promise<string> {
  const ctx = quietContext();
  expect(await runCli(['completion', shell], ctx)).toBe(0);
  const file = join(dir, `vmpro.${shell}`);
  writeFileSync(file, ctx.out());
  return file;
}

function has(shell: string): boolean {
  return spawnSync(shell, ['-c', 'exit 0'], { stdio: 'ignore' }).status === 0;
}

const TOP_LEVEL = [
  'dev',
  'emulator',
  'login',
  'token',
  'whoami',
  'api',
  'logout',
  'doctor',
  'videos',
  'channels',
  'search',
  'completion',
  'help',
];

describe('the completion data comes from the commander program', () => {
  it('lists every command, subcommand and option the program has', () => {
    const program = createProgram(quietContext(), () => {});
    const spec = describeProgram(program);
    expect(spec.subcommands.map((c) => c.path.join(' '))).toEqual(TOP_LEVEL);
    const videos = spec.subcommands.find((c) => c.path[0] === 'videos')!;
    expect(videos.subcommands.map((c) => c.path.join(' '))).toEqual([
      'videos list',
      'videos get',
      'videos upload',
      'videos help',
    ]);
    const upload = videos.subcommands.find((c) => c.path[1] === 'upload')!;
    expect(upload.fileArgument).toBe(true);
    expect(upload.options.flatMap((o) => o.flags)).toEqual(
      expect.arrayContaining(['--title', '--channel', '--vm', '--chunk-size', '--json', '--help', '-h']),
    );
    const completion = spec.subcommands.find((c) => c.path[0] === 'completion')!;
    expect(completion.argumentChoices).toEqual(['bash', 'zsh', 'fish']);
  });

  it('a command added to the program shows up in the script without touching the generator', () => {
    const program = new Command('vmpro');
    program.command('frobnicate').option('--zap <level>', 'how hard').option('--quiet', 'say less');
    const script = completionScript('bash', program);
    const reply = execFileSync(
      'bash',
      [
        '-c',
        `${script}\nCOMP_WORDS=(vmpro frobnicate --zap 3 --); COMP_CWORD=4; _vmpro; printf '%s\\n' "\${COMPREPLY[@]}"`,
      ],
      { encoding: 'utf8' },
    );
    expect(reply.trim().split('\n')).toEqual(['--zap', '--quiet', '--help']);
  });

  it('an unknown shell is a usage error, exit 2', async () => {
    const ctx = quietContext();
    expect(await runCli(['completion', 'powershell'], ctx)).toBe(2);
    expect(ctx.err()).toContain('Allowed choices are bash, zsh, fish');
  });

  it('completion --help says how to install it for each shell, with examples', async () => {
    const ctx = quietContext();
    expect(await runCli(['completion', '--help'], ctx)).toBe(0);
    expect(ctx.out()).toContain('~/.local/share/bash-completion/completions/vmpro');
    // biome-ignore lint/suspicious/noTemplateCurlyInString: shell syntax, not a template
    expect(ctx.out()).toContain('"${fpath[1]}/_vmpro"');
    expect(ctx.out()).toContain('~/.config/fish/completions/vmpro.fish');
    expect(ctx.out()).toMatch(/Examples:\n {2}source <\(vmpro completion bash\)/);
  });
});

describe('bash', () => {
  /** COMPREPLY after completing `words` (the last one is being typed). */
  async function complete(...words: string[]): Promise<string[]> {
    const file = await scriptFile('bash');
    const out = execFileSync(
      'bash',
      [
        '-c',
        // biome-ignore lint/suspicious/noTemplateCurlyInString: shell syntax, not a template
        'source "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(( $# - 1 )); _vmpro; printf "%s\\n" "${COMPREPLY[@]}"',
        'bash',
        file,
        ...words,
      ],
      { encoding: 'utf8' },
    );
    return out.split('\n').filter((line) => line !== '');
  }

  it('registers _vmpro for vmpro, falling back to file names', async () => {
    const file = await scriptFile('bash');
    const out = execFileSync('bash', ['-c', 'source "$1"; complete -p vmpro', 'bash', file], {
      encoding: 'utf8',
    });
    expect(out.trim()).toBe('complete -o default -F _vmpro vmpro');
  });

  it('completes the commands', async () => {
    expect(await complete('vmpro', '')).toEqual(TOP_LEVEL);
    expect(await complete('vmpro', 'vi')).toEqual(['videos']);
    expect(await complete('vmpro', 'c')).toEqual(['channels', 'completion']);
  });

  it('completes the subcommands of videos', async () => {
    expect(await complete('vmpro', 'videos', '')).toEqual(['list', 'get', 'upload', 'help']);
    expect(await complete('vmpro', 'videos', 'u')).toEqual(['upload']);
  });

  it('completes the options of a subcommand', async () => {
    expect(await complete('vmpro', 'videos', 'list', '--')).toEqual([
      '--vm',
      '--channel',
      '--search',
      '--limit',
      '--all',
      '--json',
      '--help',
    ]);
  });

  it('skips option values when finding the command, also --vm=1001 (which bash splits at =)', async () => {
    expect(await complete('vmpro', 'videos', 'list', '--vm', '1001', '--ch')).toEqual(['--channel']);
    expect(await complete('vmpro', 'videos', 'list', '--vm', '=', '1001', '--j')).toEqual(['--json']);
    expect(await complete('vmpro', 'emulator', '--port', '4000', '--h')).toEqual(['--host', '--help']);
  });

  it('offers nothing for an option value it cannot know, so bash completes file names', async () => {
    expect(await complete('vmpro', 'videos', 'list', '--vm', '')).toEqual([]);
  });

  it('completes the shells of vmpro completion, and the commands of vmpro help', async () => {
    expect(await complete('vmpro', 'completion', '')).toEqual(['bash', 'zsh', 'fish']);
    expect(await complete('vmpro', 'help', 'w')).toEqual(['whoami']);
  });

  it('leaves the file argument of videos upload to file-name completion', async () => {
    expect(await complete('vmpro', 'videos', 'upload', '')).toEqual([]);
  });

  it('offers the options where a command takes no arguments', async () => {
    expect(await complete('vmpro', 'token', '')).toEqual(['--json', '--help', '-h']);
  });
});

const zsh = has('zsh');
describe.skipIf(!zsh)(`zsh${zsh ? '' : ' (skipped: zsh is not installed)'}`, () => {
  /** What _vmpro hands to compsys (`_describe`, `compadd`, `_files`), one candidate a line. */
  async function complete(...words: string[]): Promise<string[]> {
    const file = await scriptFile('zsh');
    const harness = [
      'compdef() { : }',
      // biome-ignore lint/suspicious/noTemplateCurlyInString: shell syntax, not a template
      '_describe() { local arr=${@[-1]}; print -rl -- "${(@P)arr}" }',
      'compadd() { [[ $1 == -- ]] && shift; print -rl -- "$@" }',
      "_files() { print -- '<files>' }",
      'source "$1"; shift',
      // biome-ignore lint/suspicious/noTemplateCurlyInString: shell syntax, not a template
      'words=("$@"); CURRENT=${#words}',
      '_vmpro',
    ].join('\n');
    const out = execFileSync('zsh', ['-f', '-c', harness, 'zsh', file, ...words], { encoding: 'utf8' });
    return out.split('\n').filter((line) => line !== '');
  }

  it('is valid zsh (zsh -n)', async () => {
    const file = await scriptFile('zsh');
    const check = spawnSync('zsh', ['-n', file], { encoding: 'utf8' });
    expect(check.stderr).toBe('');
    expect(check.status).toBe(0);
  });

  it('describes the commands and the subcommands', async () => {
    const top = await complete('vmpro', '');
    expect(top.map((line) => line.split(':')[0])).toEqual(TOP_LEVEL);
    expect(top).toContain('videos:list, show and upload videos');
    expect(await complete('vmpro', 'videos', '')).toEqual([
      'list:list videos, newest first',
      'get:show one video',
      'upload:create a video and upload a file into it',
      'help:display help for command',
    ]);
  });

  it('describes the options, skipping option values when finding the command', async () => {
    const options = await complete('vmpro', 'videos', 'list', '--vm', '1001', '--');
    expect(options.map((line) => line.split(':')[0])).toContain('--channel');
    expect(options).toContain('--all:every matching video (fetched page by page)');
  });

  it('completes the shells, and file names for the upload', async () => {
    expect(await complete('vmpro', 'completion', '')).toEqual(['bash', 'zsh', 'fish']);
    expect(await complete('vmpro', 'videos', 'upload', '')).toEqual(['<files>']);
  });
});

const fish = has('fish');
describe.skipIf(!fish)(`fish${fish ? '' : ' (skipped: fish is not installed)'}`, () => {
  /** `complete -C` of `line`: the candidates fish offers, without descriptions. */
  async function complete(line: string): Promise<string[]> {
    const file = await scriptFile('fish');
    const out = execFileSync(
      'fish',
      ['--no-config', '-c', 'source $argv[1]; complete -C $argv[2]', file, line],
      {
        encoding: 'utf8',
        cwd: dir,
      },
    );
    return out
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => l.split('\t')[0]!);
  }

  it('is valid fish (fish --no-execute)', async () => {
    const file = await scriptFile('fish');
    const check = spawnSync('fish', ['--no-config', '--no-execute', file], { encoding: 'utf8' });
    expect(check.stderr).toBe('');
    expect(check.status).toBe(0);
  });

  it('completes the commands and the subcommands', async () => {
    expect((await complete('vmpro ')).sort()).toEqual([...TOP_LEVEL].sort());
    expect((await complete('vmpro videos ')).sort()).toEqual(['get', 'help', 'list', 'upload']);
  });

  it('completes the options, skipping option values when finding the command', async () => {
    const options = await complete('vmpro videos list --vm 1001 --');
    expect(options).toEqual(
      expect.arrayContaining(['--vm', '--channel', '--search', '--limit', '--all', '--json']),
    );
    expect(options).not.toContain('--title');
  });

  it('completes the shells, and file names for the upload only', async () => {
    expect((await complete('vmpro completion ')).sort()).toEqual(['bash', 'fish', 'zsh']);
    expect(await complete('vmpro videos upload vmpro.')).toEqual(
      expect.arrayContaining(['vmpro.bash', 'vmpro.fish', 'vmpro.zsh']),
    );
    expect(await complete('vmpro token vmpro.')).toEqual([]);
  });
});
