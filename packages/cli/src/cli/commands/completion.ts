/**
 * `vmpro completion bash|zsh|fish`: a shell completion script made from the commander program
 * itself (its commands, options, option values and argument choices), so it never goes stale.
 * The script holds the data; completing runs no `vmpro` process.
 */
import type { Command } from 'commander';
import type { CliContext } from '../context.js';
import { guard, UsageError } from '../errors.js';

/** The shells `vmpro completion` writes scripts for. */
export const SHELLS = ['bash', 'zsh', 'fish'] as const;
export type Shell = (typeof SHELLS)[number];

/** One option as the completion sees it. */
export interface OptionSpec {
  /** `--vm`, `-q`… */
  flags: string[];
  /** The option is followed by a value (`--vm 319`). */
  takesValue: boolean;
  /** The values it accepts, when commander knows them. */
  choices: string[];
  description: string;
}

/** One command (or subcommand) as the completion sees it. */
export interface CommandSpec {
  /** Command names from the top, e.g. `['videos', 'list']`; `[]` for `vmpro` itself. */
  path: string[];
  description: string;
  subcommands: CommandSpec[];
  options: OptionSpec[];
  /** Words the positional arguments accept (argument choices; `help` gets the command names). */
  argumentChoices: string[];
  /** Whether the command takes positional arguments at all. */
  hasArguments: boolean;
  /** A positional argument is a file name (named `file`): complete file names there. */
  fileArgument: boolean;
}

// Words that need no quoting in any of the three shells. Anything else is left out of the
// script rather than escaped: commander names and flags are always such words.
const SAFE_WORD = /^[\w@%+=:,./-]+$/;

function firstLine(text: string): string {
  return text.split('\n')[0]!.trim();
}

/**
 * Reads the commands, options and argument choices of a commander program, as its `--help`
 * shows them (hidden ones left out).
 *
 * @example
 * ```ts
 * const spec = describeProgram(createProgram(ctx, () => {}));
 * spec.subcommands.map((c) => c.path.join(' ')); // ['dev', 'emulator', …, 'videos', …]
 * ```
 */
export function describeProgram(program: Command): CommandSpec {
  const help = program.createHelp();
  const read = (command: Command, path: string[], parent: Command | undefined): CommandSpec => {
    const children = help.visibleCommands(command);
    const args = command.registeredArguments;
    // Commander's implicit `help [command]` is not in `parent.commands`: it takes their names.
    const implicitHelp =
      parent !== undefined && command.name() === 'help' && !parent.commands.includes(command);
    const argumentChoices = implicitHelp
      ? help
          .visibleCommands(parent)
          .map((c) => c.name())
          .filter((name) => name !== 'help')
      : args.flatMap((arg) => arg.argChoices ?? []);
    return {
      path,
      description: firstLine(command.summary() || command.description()),
      subcommands: children.map((child) => read(child, [...path, child.name()], command)),
      options: help.visibleOptions(command).map((option) => ({
        flags: [option.long, option.short].filter(
          (flag): flag is string => typeof flag === 'string' && SAFE_WORD.test(flag),
        ),
        takesValue: option.required || option.optional,
        choices: (option.argChoices ?? []).filter((c) => SAFE_WORD.test(c)),
        description: firstLine(option.description),
      })),
      argumentChoices: argumentChoices.filter((c) => SAFE_WORD.test(c)),
      hasArguments: args.length > 0,
      fileArgument: args.some((arg) => arg.name() === 'file'),
    };
  };
  return read(program, [], undefined);
}

function flatten(spec: CommandSpec): CommandSpec[] {
  return [spec, ...spec.subcommands.flatMap(flatten)];
}

/** `text` as one single-quoted word for bash, zsh or POSIX sh. */
function shQuote(text: string): string {
  return `'${text.replace(/'/g, `'\\''`)}'`;
}

/** `text` as one single-quoted word for fish (which escapes `\` and `'` inside quotes). */
function fishQuote(text: string): string {
  return `'${text.replace(/[\\']/g, (c) => `\\${c}`)}'`;
}

const key = (spec: CommandSpec) => spec.path.join(' ');

/**
 * A POSIX-shell function `name` that prints, for a command path in `$1`, the words `pick`
 * gives (bash and zsh read the same syntax).
 */
function shCaseFunction(
  name: string,
  specs: CommandSpec[],
  pick: (spec: CommandSpec) => string[],
  argument = '"$1"',
): string {
  const cases = specs
    .map((spec) => [spec, pick(spec)] as const)
    .filter(([, words]) => words.length > 0)
    .map(([spec, words]) => `    ${shQuote(key(spec))}) printf '%s\\n' ${words.map(shQuote).join(' ')} ;;`);
  return [`${name}() {`, `  case ${argument} in`, ...cases, '  esac', '}'].join('\n');
}

/** Option-value choices, by `path|flag`. */
function choiceCases(specs: CommandSpec[]): string[] {
  return specs.flatMap((spec) =>
    spec.options
      .filter((option) => option.takesValue && option.choices.length > 0)
      .flatMap((option) =>
        option.flags.map(
          (flag) =>
            `    ${shQuote(`${key(spec)}|${flag}`)}) printf '%s\\n' ${option.choices.map(shQuote).join(' ')} ;;`,
        ),
      ),
  );
}

const subcommandNames = (spec: CommandSpec) => spec.subcommands.map((c) => c.path.at(-1)!);
const allFlags = (spec: CommandSpec) => spec.options.flatMap((o) => o.flags);
const valueFlags = (spec: CommandSpec) => spec.options.filter((o) => o.takesValue).flatMap((o) => o.flags);
/** Words offered where a positional word goes: subcommands, argument choices, else (no arguments) options. */
const positionalWords = (spec: CommandSpec) => {
  const words = [...subcommandNames(spec), ...spec.argumentChoices];
  return words.length === 0 && !spec.hasArguments ? allFlags(spec) : words;
};

function shData(specs: CommandSpec[]): string {
  return [
    '# The commands and options of vmpro, by command path ("" is vmpro itself).',
    shCaseFunction('_vmpro_subcommands', specs, subcommandNames),
    shCaseFunction('_vmpro_options', specs, allFlags),
    shCaseFunction('_vmpro_value_options', specs, valueFlags),
    shCaseFunction('_vmpro_words', specs, positionalWords),
    ['_vmpro_option_choices() {', '  case "$1|$2" in', ...choiceCases(specs), '  esac', '}'].join('\n'),
    `_vmpro_contains() {
  local word="$1" each
  shift
  for each in "$@"; do [[ "$each" == "$word" ]] && return 0; done
  return 1
}`,
  ].join('\n\n');
}

/** The loop both bash and zsh use: the command path before the cursor, and whether a value is due. */
const SH_WALK = `  while (( i < last )); do
    word="\${words_[i]}"
    i=$(( i + 1 ))
    if (( skip )); then
      # bash splits --vm=1 into "--vm" "=" "1"
      [[ "$word" == "=" ]] || skip=0
      continue
    fi
    case "$word" in
      --*=*) continue ;;
      -*)
        _vmpro_contains "$word" $(_vmpro_value_options "$cmd") && skip=1
        continue ;;
    esac
    if _vmpro_contains "$word" $(_vmpro_subcommands "$cmd"); then
      cmd="\${cmd:+$cmd }$word"
    fi
  done`;

function bashScript(spec: CommandSpec): string {
  return `# bash completion for vmpro, made by \`vmpro completion bash\` from vmpro's own commands.
# Install (one of):
#   vmpro completion bash > ~/.local/share/bash-completion/completions/vmpro
#   echo 'source <(vmpro completion bash)' >> ~/.bashrc
# Then open a new shell. Re-run after updating vmpro to pick up new commands.

${shData(flatten(spec))}

_vmpro() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" prev="" cmd="" word skip=0 i=1 last=$COMP_CWORD
  local -a words_=("\${COMP_WORDS[@]}")
  (( COMP_CWORD > 0 )) && prev="\${COMP_WORDS[COMP_CWORD-1]}"
${SH_WALK}
  COMPREPLY=()
  if (( skip )); then
    [[ "$prev" == "=" ]] && prev="\${COMP_WORDS[COMP_CWORD-2]}"
    # A value is due: its choices if known, else file names (complete -o default).
    local choices
    choices="$(_vmpro_option_choices "$cmd" "$prev")"
    [[ -n "$choices" ]] && COMPREPLY=( $(compgen -W "$choices" -- "$cur") )
    return 0
  fi
  if [[ "$cur" == -* ]]; then
    COMPREPLY=( $(compgen -W "$(_vmpro_options "$cmd")" -- "$cur") )
    return 0
  fi
  COMPREPLY=( $(compgen -W "$(_vmpro_words "$cmd")" -- "$cur") )
  return 0
}

complete -o default -F _vmpro vmpro
`;
}

function zshDescribeFunction(
  name: string,
  specs: CommandSpec[],
  pick: (spec: CommandSpec) => [string, string][],
): string {
  const cases = specs
    .map((spec) => [spec, pick(spec)] as const)
    .filter(([, entries]) => entries.length > 0)
    .map(
      ([spec, entries]) =>
        `    ${shQuote(key(spec))}) _vmpro_reply=( ${entries
          .map(([word, description]) => shQuote(`${word.replace(/:/g, '\\:')}:${description}`))
          .join(' ')} ) ;;`,
    );
  return [`${name}() {`, '  _vmpro_reply=()', '  case "$1" in', ...cases, '  esac', '}'].join('\n');
}

function zshScript(spec: CommandSpec): string {
  const specs = flatten(spec);
  return `#compdef vmpro
# zsh completion for vmpro, made by \`vmpro completion zsh\` from vmpro's own commands.
# Install (one of):
#   vmpro completion zsh > "\${fpath[1]}/_vmpro"          # then restart zsh
#   echo 'source <(vmpro completion zsh)' >> ~/.zshrc    # after compinit
# Re-run after updating vmpro to pick up new commands.

${shData(specs)}

# Descriptions shown next to the candidates.
${zshDescribeFunction('_vmpro_describe_subcommands', specs, (s) =>
  s.subcommands.map((c) => [c.path.at(-1)!, c.description]),
)}

${zshDescribeFunction('_vmpro_describe_options', specs, (s) =>
  s.options.flatMap((o) => o.flags.map((flag): [string, string] => [flag, o.description])),
)}

_vmpro() {
  local cur="\${words[CURRENT]}" prev="\${words[CURRENT-1]}" cmd="" word skip=0 i=2 last=$CURRENT
  local -a words_ _vmpro_reply
  words_=("\${words[@]}")
  # zsh arrays count from 1: words_[1] is "vmpro".
${SH_WALK}
  if (( skip )); then
    local -a choices
    choices=( \${(f)"$(_vmpro_option_choices "$cmd" "$prev")"} )
    if (( \${#choices} )); then compadd -- "\${choices[@]}"; else _files; fi
    return
  fi
  if [[ "$cur" == -* ]]; then
    _vmpro_describe_options "$cmd"
    _describe -t options 'option' _vmpro_reply
    return
  fi
  _vmpro_describe_subcommands "$cmd"
  if (( \${#_vmpro_reply} )); then
    _describe -t commands 'command' _vmpro_reply
    return
  fi
  local -a plain
  plain=( \${(f)"$(_vmpro_words "$cmd")"} )
  if (( \${#plain} )); then
    compadd -- "\${plain[@]}"
  else
    _files
  fi
}

if [[ "\${funcstack[1]}" == _vmpro ]]; then
  # Autoloaded from $fpath: this file is the body of _vmpro; complete now.
  _vmpro "$@"
else
  compdef _vmpro vmpro
fi
`;
}

function fishSwitchFunction(
  name: string,
  specs: CommandSpec[],
  pick: (spec: CommandSpec) => string[],
): string {
  const cases = specs
    .map((spec) => [spec, pick(spec)] as const)
    .filter(([, words]) => words.length > 0)
    .map(
      ([spec, words]) =>
        `    case ${fishQuote(key(spec))}\n        printf '%s\\n' ${words.map(fishQuote).join(' ')}`,
    );
  return [`function ${name} --argument-names cmd`, '    switch "$cmd"', ...cases, '    end', 'end'].join(
    '\n',
  );
}

function fishScript(spec: CommandSpec): string {
  const specs = flatten(spec);
  const lines: string[] = [];
  for (const each of specs) {
    const when = `-n ${fishQuote(`__vmpro_at ${JSON.stringify(key(each))}`)}`;
    for (const sub of each.subcommands) {
      lines.push(
        `complete -c vmpro ${when} -a ${fishQuote(sub.path.at(-1)!)} -d ${fishQuote(sub.description)}`,
      );
    }
    if (each.argumentChoices.length > 0) {
      lines.push(`complete -c vmpro ${when} -a ${fishQuote(each.argumentChoices.join(' '))}`);
    }
    if (each.fileArgument) lines.push(`complete -c vmpro ${when} -F`);
    for (const option of each.options) {
      const flags = option.flags
        .map((flag) => (flag.startsWith('--') ? `-l ${flag.slice(2)}` : `-s ${flag.slice(1)}`))
        .join(' ');
      const value =
        option.choices.length > 0
          ? ` -x -a ${fishQuote(option.choices.join(' '))}`
          : option.takesValue
            ? ' -x'
            : '';
      lines.push(`complete -c vmpro ${when} ${flags}${value} -d ${fishQuote(option.description)}`);
    }
  }
  return `# fish completion for vmpro, made by \`vmpro completion fish\` from vmpro's own commands.
# Install:
#   vmpro completion fish > ~/.config/fish/completions/vmpro.fish
# Re-run after updating vmpro to pick up new commands.

${fishSwitchFunction('__vmpro_subcommands', specs, subcommandNames)}

${fishSwitchFunction('__vmpro_value_options', specs, valueFlags)}

# The command path typed so far ("videos list"), skipping options and their values.
function __vmpro_path
    set -l cmd ''
    set -l skip 0
    set -l tokens (commandline -opc)
    for word in $tokens[2..-1]
        if test $skip = 1
            set skip 0
            continue
        end
        if string match -q -- '-*' $word
            if not string match -q -- '*=*' $word; and contains -- $word (__vmpro_value_options $cmd)
                set skip 1
            end
            continue
        end
        if contains -- $word (__vmpro_subcommands $cmd)
            if test -z "$cmd"
                set cmd $word
            else
                set cmd "$cmd $word"
            end
        end
    end
    echo $cmd
end

function __vmpro_at --argument-names want
    set -l here (__vmpro_path)
    test "$here" = "$want"
end

complete -c vmpro -f
${lines.join('\n')}
`;
}

/**
 * The completion script for `shell`, made from `program`.
 *
 * @example
 * ```ts
 * const script = completionScript('bash', createProgram(ctx, () => {}));
 * ```
 */
export function completionScript(shell: Shell, program: Command): string {
  const spec = describeProgram(program);
  switch (shell) {
    case 'bash':
      return bashScript(spec);
    case 'zsh':
      return zshScript(spec);
    case 'fish':
      return fishScript(spec);
  }
}

/**
 * Prints the completion script for `shell` on stdout. Returns the exit code (2 for a shell it
 * does not know).
 *
 * @example
 * ```ts
 * await completion('bash', program, { env: process.env, stdout: process.stdout, stderr: process.stderr });
 * ```
 */
export function completion(shell: string, program: Command, ctx: CliContext): Promise<number> {
  return guard(ctx, async () => {
    if (!(SHELLS as readonly string[]).includes(shell)) {
      throw new UsageError(
        `no completion for the shell "${shell}"; choose one of ${SHELLS.join(', ')}`,
        'completion',
      );
    }
    ctx.stdout.write(completionScript(shell as Shell, program));
    return 0;
  });
}

/** How to install the completion, as `vmpro completion --help` prints it. */
export const COMPLETION_HELP = `
Install:
  bash  vmpro completion bash > ~/.local/share/bash-completion/completions/vmpro
        (or add  source <(vmpro completion bash)  to ~/.bashrc)
  zsh   vmpro completion zsh > "\${fpath[1]}/_vmpro"
        (or add  source <(vmpro completion zsh)  to ~/.zshrc, after compinit)
  fish  vmpro completion fish > ~/.config/fish/completions/vmpro.fish
Open a new shell afterwards. The script is made from vmpro's own commands: run it again after
an update to complete new commands and options.
`;
