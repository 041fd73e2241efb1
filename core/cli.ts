/**
 * The `scale-runtime` command (bin/scale-runtime.js; `npm start`, `npm run worker`,
 * `npm run migrate` and `npm run cli` in this repository): one table of commands, each
 * importing what it needs only when it runs. Config is the app's own `config/scale.ts`
 * (or `SCALE_CONFIG`), read from the working directory.
 */
import { exitOnError } from './exit.ts'

export interface Command {
  /** Arguments, for the usage text, e.g. `<email> <free|paid>`. */
  args?: string
  summary: string
  /**
   * Run with the arguments after the command name. A number is the exit code; a command
   * that keeps running (start, worker) resolves with nothing and exits on a signal.
   */
  run(args: string[]): Promise<number | void>
}

/** Every command; add one with a new entry (its module is imported only when it runs). */
export const commands: Record<string, Command> = {
  start: {
    summary: 'start the api with ./config/scale.ts (or SCALE_CONFIG)',
    run: async () => (await import('./main.ts')).main(),
  },
  worker: {
    summary: 'run reply jobs from the queue (needs the llm-queue plugin)',
    run: async () => (await import('./worker.ts')).main(),
  },
  migrate: {
    summary: 'apply database migrations',
    run: async () => (await import('./commands/operator.ts')).migrate(),
  },
  'set-tier': {
    args: '<email> <free|paid>',
    summary: "change a user's tier (applies from their next login)",
    run: async (args) => (await import('./commands/operator.ts')).setTier(args),
  },
  'set-role': {
    args: '<email> <user|admin>',
    summary: "change a user's role (admin: the console's status view; applies at once)",
    run: async (args) => (await import('./commands/operator.ts')).setRole(args),
  },
  'disable-user': {
    args: '<email>',
    summary: "refuse the user's login and tokens (running instances within auth.revocationCheck)",
    run: async (args) => (await import('./commands/operator.ts')).userState('disable-user', args),
  },
  'enable-user': {
    args: '<email>',
    summary: 'undo disable-user',
    run: async (args) => (await import('./commands/operator.ts')).userState('enable-user', args),
  },
  'delete-user': {
    args: '<email>',
    summary: 'delete the user, their conversations and messages',
    run: async (args) => (await import('./commands/operator.ts')).userState('delete-user', args),
  },
  'new-plugin': {
    args: '<name> [--slot <slot>] [--dir <folder>]',
    summary: 'write a plugin package from the template into ./<name>',
    run: async (args) => (await import('./plugins/scaffold.ts')).newPluginCommand(args),
  },
  doctor: {
    args: '[--json]',
    summary: 'probe what the config names and print a capacity plan and its problems (exit 1 on one that would fail in production)',
    run: async (args) => (await import('./doctor/index.ts')).doctor(args),
  },
}

export function usage(): string {
  const rows = Object.entries(commands).map(([name, c]) => [`scale-runtime ${name}${c.args ? ` ${c.args}` : ''}`, c.summary])
  const width = Math.max(...rows.map(([left]) => left!.length))
  return `usage:\n${rows.map(([left, right]) => `  ${left!.padEnd(width)}  ${right}`).join('\n')}`
}

/** Run the command line `args` (without the runtime and script); resolves with an exit code, or nothing while a server runs. */
export async function runCli(args: string[]): Promise<number | void> {
  const [name, ...rest] = args
  const command = name === undefined ? undefined : commands[name]
  if (!command) {
    console.error(
      name === undefined || name === 'help' || name === '--help' ? usage() : `unknown command ${JSON.stringify(name)}\n${usage()}`,
    )
    return name === 'help' || name === '--help' ? 0 : 2
  }
  return command.run(rest)
}

if (import.meta.main) {
  runCli(process.argv.slice(2)).then((code) => {
    if (typeof code === 'number') process.exit(code)
  }, exitOnError)
}
