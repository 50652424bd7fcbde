/**
 * The `vmpro` command line: commander wiring only. Each command's logic lives in
 * `commands/*.ts` as a function of its options and a {@link CliContext}, returning an exit code.
 */
import { Argument, Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { api } from './commands/api.js';
import { channels } from './commands/channels.js';
import { COMPLETION_HELP, completion, SHELLS } from './commands/completion.js';
import { dev } from './commands/dev.js';
import { doctor } from './commands/doctor.js';
import { emulator } from './commands/emulator.js';
import { login } from './commands/login.js';
import { logout } from './commands/logout.js';
import { search } from './commands/search.js';
import { token } from './commands/token.js';
import { videosGet, videosList, videosUpload } from './commands/videos.js';
import { whoami } from './commands/whoami.js';
import type { CliContext } from './context.js';
import { EXIT_CODES_HELP } from './errors.js';
import { VM_ENV } from './vm.js';

function integer(min: number, max: number) {
  return (value: string): number => {
    const n = Number(value);
    if (!/^\d+$/.test(value) || !Number.isSafeInteger(n) || n < min || n > max) {
      throw new InvalidArgumentError(`Expected a whole number from ${min} to ${max}.`);
    }
    return n;
  };
}

const collect = (value: string, previous: string[] = []) => [...previous, value];

/** Repeatable and comma-separated IDs: `--channel 101 --channel 102,103`. */
function collectIds(value: string, previous: number[] = []): number[] {
  const parse = integer(0, Number.MAX_SAFE_INTEGER);
  return [...previous, ...value.split(',').map((part) => parse(part.trim()))];
}

const VM_HELP = `VideoManager ID, e.g. 319 (env ${VM_ENV}; default: your only VideoManager)`;
const JSON_HELP = "print the API's data as one JSON document (for scripts)";

function examples(...lines: string[]): string {
  return `\nExamples:\n${lines.map((l) => `  ${l}`).join('\n')}\n`;
}

const API_BASE_HELP =
  'API origin; discovery starts here (env VMPRO_API_BASE; default https://api.video-cdn.net)';
const ISSUER_HELP = 'issuer of the login server; skips WebFinger (env VMPRO_ISSUER)';

/** Builds the program; `done(code)` receives each command's exit code. */
export function createProgram(ctx: CliContext, done: (code: number) => void): Command {
  const program = new Command('vmpro')
    .description(
      'Sign in to movingimage VideoManager Pro from the terminal, print fresh tokens, call the API, and run the demo app or the local emulator.',
    )
    .exitOverride()
    .configureOutput({
      writeOut: (text) => ctx.stdout.write(text),
      writeErr: (text) => ctx.stderr.write(text),
    })
    .showHelpAfterError('(run with --help for the options and examples)')
    .helpCommand(true)
    .addHelpText(
      'after',
      examples(
        'vmpro emulator                           # a local login server + API with demo data',
        'VMPRO_API_BASE=http://127.0.0.1:4000 vmpro login --password --username demo',
        'vmpro videos list --vm 1001 --search launch',
        'vmpro videos upload talk.mp4 --title "Quarterly talk"',
        'vmpro api GET /v1/vms',
        'curl -H "Authorization: Bearer $(vmpro token)" https://api.video-cdn.net/v1/vms',
        'source <(vmpro completion bash)          # tab completion (see vmpro completion --help)',
      ),
    )
    .addHelpText('after', EXIT_CODES_HELP);

  program
    .command('dev')
    .summary('run the demo app (same as npm start)')
    .description(
      'Run the demo app (the same as `npm start`): a small server with sign-in, token countdowns and your VideoManagers. Configured by PORT, VMPRO_API_BASE, VMPRO_ISSUER, VMPRO_CLIENT_ID, VMPRO_CLIENT_SECRET, VMPRO_REDIRECT_URI, VMPRO_POST_LOGOUT_REDIRECT_URI, VMPRO_SESSION_SECRET and VMPRO_SESSION_STORE; with no VMPRO_CLIENT_ID it starts the embedded emulator.',
    )
    .addHelpText(
      'after',
      examples('vmpro dev', 'PORT=8080 VMPRO_SESSION_STORE=redis://127.0.0.1:6379 vmpro dev'),
    )
    .action(async () => done(await dev(ctx)));

  program
    .command('emulator')
    .summary('run the local login server + API emulator')
    .description(
      'Run the local emulator of movingimage VideoManager Pro: a Keycloak-shaped login server (realm platform) and the REST API with demo data. Development only: it has no security.',
    )
    .option('--port <port>', 'port to listen on (0 = any free port)', integer(0, 65535), 4000)
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .option('--access-token-lifetime <seconds>', 'access token lifetime', integer(1, 86_400 * 365), 300)
    .option(
      '--refresh-token-lifetime <seconds>',
      'refresh token lifetime / SSO idle timeout',
      integer(1, 86_400 * 365),
      3600,
    )
    .option('--strict-refresh-tokens', 'a refresh token works only once (Keycloak "Revoke Refresh Token")')
    .option(
      '--client <id:secret:redirectUri>',
      'register another client (repeatable; empty secret = public client)',
      collect,
    )
    .addHelpText(
      'after',
      examples(
        'vmpro emulator',
        'vmpro emulator --port 4000 --access-token-lifetime 30 --strict-refresh-tokens',
        'vmpro emulator --client my-app:my-secret:http://localhost:8080/auth/callback',
        'vmpro emulator --client vmpro-cli::http://127.0.0.1:8765/callback',
      ),
    )
    .action(async (o) => done(await emulator(o, ctx)));

  program
    .command('login')
    .summary('sign in (browser, or --password) and store the login')
    .description(
      'Sign in and store the login in $VMPRO_HOME/credentials.json (default ~/.vmpro; file mode 0600). ' +
        'By default with the browser (authorization code flow with PKCE): vmpro listens on http://127.0.0.1:PORT/callback, prints the sign-in URL, and waits for the login server to send the browser back. ' +
        'The client must have that exact redirect URI registered (ask movingimage; use --redirect-port for a fixed port). ' +
        'With --password: movingimage\'s "anonymous" scenario, the password grant with client "anonymous"; the password comes from VMPRO_PASSWORD or a prompt, never from the command line. ' +
        'A client secret, when given, is stored in the credentials file (it is needed to refresh).',
    )
    .option('--api-base <url>', API_BASE_HELP)
    .option('--issuer <url>', ISSUER_HELP)
    .option('--client-id <id>', 'client id (env VMPRO_CLIENT_ID; with --password default "anonymous")')
    .option(
      '--client-secret <secret>',
      'client secret (env VMPRO_CLIENT_SECRET, preferred: flags show in `ps`)',
    )
    .option(
      '--redirect-port <port>',
      'port of the loopback callback (0 = any free port)',
      integer(0, 65535),
      0,
    )
    .option('--redirect-uri <uri>', 'exact loopback redirect URI, e.g. http://localhost:8765/callback')
    .option('--timeout <seconds>', 'how long to wait for the browser', integer(1, 86_400), 300)
    .option('--open', 'open the sign-in URL in the browser (xdg-open / open)')
    .option('--password', 'sign in with user name and password (password grant) instead of the browser')
    .option('--username <name>', 'user name for --password (else asked)')
    .addHelpText(
      'after',
      examples(
        'vmpro login --client-id my-app --redirect-port 8765 --open',
        'VMPRO_CLIENT_ID=my-app VMPRO_CLIENT_SECRET=… vmpro login --redirect-uri http://localhost:8765/callback',
        'vmpro login --password --username jane@example.com          # asks for the password',
        'VMPRO_PASSWORD=demo vmpro login --api-base http://127.0.0.1:4000 --password --username demo',
      ),
    )
    .action(async (o) => done(await login(o, ctx)));

  program
    .command('token')
    .summary('print a valid access token (for scripts)')
    .description(
      'Print a valid access token of the stored login, and nothing else, on stdout (refreshed and saved when it has less than 30 s left).',
    )
    .option('--json', 'print {"accessToken": "…", "expiresAt": "<ISO time>"}')
    .addHelpText(
      'after',
      examples(
        'curl -H "Authorization: Bearer $(vmpro token)" https://api.video-cdn.net/v1/vms',
        'vmpro token --json',
      ),
    )
    .action(async (o) => done(await token(o, ctx)));

  program
    .command('whoami')
    .summary('show who is signed in and until when')
    .description(
      'Show who is signed in (name, email, user name, subject), the issuer and when the tokens expire; never the tokens.',
    )
    .addHelpText('after', examples('vmpro whoami'))
    .action(async () => done(await whoami(ctx)));

  program
    .command('api')
    .summary('call the API with the stored login')
    .description(
      'Call the VideoManager Pro API with the stored login (refreshing it as needed) and print the JSON answer; for 201/204 the status and the Location header.',
    )
    // [path] for commander, so that `vmpro api /v1/vms` reaches api() and gets a "did you mean";
    // api() requires it.
    .usage('[options] <method> <path>')
    .argument('<method>', 'HTTP method: GET, POST, PATCH, PUT, DELETE')
    .argument('[path]', 'path below the API base, e.g. /v1/vms')
    .option('-q, --query <key=value>', 'query parameter, sent as written (repeatable)', collect)
    .option('-d, --data <json|@file>', 'JSON body, inline or from a file')
    .addHelpText(
      'after',
      examples(
        'vmpro api GET /v1/vms',
        'vmpro api GET /v1/vms/123/videos --query limit=10 --query order_property=title',
        'vmpro api POST /v1/vms/123/videos --data \'{"title":"Demo","fileName":"demo.mp4"}\'',
        'vmpro api PATCH /v1/vms/123/videos/abc --data @patch.json',
      ),
    )
    .action(async (method: string, path: string | undefined, o) => done(await api(method, path, o, ctx)));

  program
    .command('logout')
    .summary('revoke the login and delete the credentials')
    .description(
      'Revoke the stored login at the login server (when it offers revocation) and delete the credentials file; works offline too (local delete).',
    )
    .addHelpText('after', examples('vmpro logout'))
    .action(async () => done(await logout(ctx)));

  program
    .command('doctor')
    .summary('check the set-up, with a fix for each problem')
    .description(
      'Check the set-up: Node version, API base, WebFinger, OpenID configuration, issuer, PKCE S256, https endpoints, clock skew, client and session settings, Redis, and the credentials file. Prints ✔/✘ with a fix for each failure; exits 1 when a check fails.',
    )
    .option('--api-base <url>', API_BASE_HELP)
    .option('--issuer <url>', ISSUER_HELP)
    .addOption(
      new Option('--timeout <seconds>', 'seconds per network check').argParser(integer(1, 600)).default(5),
    )
    .addHelpText(
      'after',
      examples(
        'vmpro doctor',
        'vmpro doctor --api-base http://127.0.0.1:4000',
        'VMPRO_SESSION_STORE=redis://127.0.0.1:6379 vmpro doctor',
      ),
    )
    .action(async (o) => done(await doctor(o, ctx)));

  const videos = program
    .command('videos')
    .summary('list, show and upload videos')
    .description(
      `List, show and upload the videos of a VideoManager with the stored login. Every subcommand takes --vm (or ${VM_ENV}); without it the account's only VideoManager is used. \`vmpro videos\` alone lists.`,
    )
    .addHelpText(
      'after',
      examples(
        'vmpro videos list --vm 1001',
        'vmpro videos get 1wGJbtN7QPwkAkd8_VcgKH --vm 1001',
        'vmpro videos upload talk.mp4 --title "Quarterly talk" --channel 103',
      ),
    );

  videos
    .command('list', { isDefault: true })
    .summary('list videos, newest first')
    .description(
      'List the videos of a VideoManager, newest first, as a table (ID, title, duration h:mm:ss, published, created) that fits the terminal; with --json, the API\'s {"total", "videos"} as one document.',
    )
    .option('--vm <id>', VM_HELP, integer(1, Number.MAX_SAFE_INTEGER))
    .option('--channel <id>', 'only videos in this channel (repeatable, or comma-separated)', collectIds)
    .option('--search <term>', 'only videos whose title, description, keywords or file name match')
    .option('--limit <n>', 'how many videos to show (default 20)', integer(1, 100_000))
    .option('--all', 'every matching video (fetched page by page)')
    .option('--json', JSON_HELP)
    .addHelpText(
      'after',
      examples(
        'vmpro videos list',
        'vmpro videos list --vm 1001 --channel 103 --search launch --limit 50',
        'vmpro videos list --vm 1001 --all --json | jq -r ".videos[].id"',
      ),
    )
    .action(async (o) => done(await videosList(o, ctx)));

  videos
    .command('get')
    .summary('show one video')
    .description(
      'Show one video, published or not: title, duration, dates, views and plays, channels, keywords, owner and description; with --json, the video object as the API answers it.',
    )
    .argument('<videoId>', 'the video ID (see vmpro videos list)')
    .option('--vm <id>', VM_HELP, integer(1, Number.MAX_SAFE_INTEGER))
    .option('--json', JSON_HELP)
    .addHelpText(
      'after',
      examples(
        'vmpro videos get 1wGJbtN7QPwkAkd8_VcgKH --vm 1001',
        'vmpro videos get 1wGJbtN7QPwkAkd8_VcgKH --vm 1001 --json | jq .title',
      ),
    )
    .action(async (videoId: string, o) => done(await videosGet(videoId, o, ctx)));

  videos
    .command('upload')
    .summary('create a video and upload a file into it')
    .description(
      "Create a video and upload the file into it in chunks (movingimage's upload flow). On a terminal a progress bar (bytes, percent, rate) is drawn on stderr; elsewhere one line; with --json none, and the new video's ID and the bytes sent are printed as JSON. The file name's suffix (mp4, mov, mkv…) sets the type.",
    )
    .argument('<file>', 'the video or audio file')
    .option('--title <title>', 'title of the video (default: the file name without its suffix)')
    .option(
      '--channel <id>',
      'put the video in this channel (see vmpro channels)',
      integer(0, Number.MAX_SAFE_INTEGER),
    )
    .option('--vm <id>', VM_HELP, integer(1, Number.MAX_SAFE_INTEGER))
    .option(
      '--chunk-size <MiB>',
      'chunk size in MiB (default 4; movingimage recommends 2–10 MB)',
      integer(1, 64),
    )
    .option(
      '--json',
      'print {"videoManagerId", "id", "fileName", "title", "channel", "bytes", "chunks"}; no progress bar',
    )
    .addHelpText(
      'after',
      examples(
        'vmpro videos upload talk.mp4',
        'vmpro videos upload ~/Movies/launch.mov --title "Launch 2025" --channel 110 --vm 1001',
        'id=$(vmpro videos upload talk.mp4 --json | jq -r .id)',
      ),
    )
    .action(async (file: string, o) => done(await videosUpload(file, o, ctx)));

  program
    .command('channels')
    .summary('show the channel tree')
    .description(
      'Show the channels of a VideoManager as a tree: IDs and names, sub-channels indented below their parent and sorted by name; with --json, the root channel with its children as the API answers it.',
    )
    .option('--vm <id>', VM_HELP, integer(1, Number.MAX_SAFE_INTEGER))
    .option('--json', JSON_HELP)
    .addHelpText('after', examples('vmpro channels', 'vmpro channels --vm 1001 --json'))
    .action(async (o) => done(await channels(o, ctx)));

  program
    .command('search')
    .summary('search videos (or channels) with a query')
    .description(
      'Search the videos of a VideoManager (or, with --channels, its channels) with movingimage\'s search endpoint. The query uses its query-string syntax: words, field:value, AND, OR, e.g. title:launch AND published:true. Prints a table, or with --json the API\'s {"total", "result"}.',
    )
    .argument('<query>', 'the search query; quote it when it has spaces')
    .option('--vm <id>', VM_HELP, integer(1, Number.MAX_SAFE_INTEGER))
    .option('--channels', 'search channels instead of videos')
    .option('--limit <n>', 'how many results to show (default 20)', integer(1, 10_000))
    .option('--json', JSON_HELP)
    .addHelpText(
      'after',
      examples(
        'vmpro search launch',
        'vmpro search "title:launch AND published:true" --vm 1001 --limit 50',
        'vmpro search events --channels',
      ),
    )
    .action(async (query: string, o) => done(await search(query, o, ctx)));

  program
    .command('completion')
    .summary('print a shell completion script (bash, zsh, fish)')
    .description(
      "Print a tab-completion script for bash, zsh or fish, made from vmpro's own commands and options.",
    )
    .addArgument(new Argument('<shell>', 'the shell').choices(SHELLS))
    .addHelpText('after', COMPLETION_HELP)
    .addHelpText(
      'after',
      examples(
        'source <(vmpro completion bash)',
        // biome-ignore lint/suspicious/noTemplateCurlyInString: shell syntax, not a template
        'vmpro completion zsh > "${fpath[1]}/_vmpro"',
        'vmpro completion fish > ~/.config/fish/completions/vmpro.fish',
      ),
    )
    .action(async (shell: string) => done(await completion(shell, program, ctx)));

  return program;
}

/**
 * Runs `vmpro` with the given arguments (without `node` and the script). Resolves to the exit
 * code ({@link EXIT_CODES_HELP}): the command's, 0 for `--help`, 2 for a usage error.
 */
export async function runCli(argv: readonly string[], ctx: CliContext): Promise<number> {
  let code = 0;
  const program = createProgram(ctx, (c) => {
    code = c;
  });
  try {
    await program.parseAsync([...argv], { from: 'user' });
  } catch (error) {
    if (error instanceof CommanderError) {
      if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version') return 0;
      return error.exitCode === 0 ? 0 : 2;
    }
    throw error;
  }
  return code;
}
