/**
 * Deno for the tests: the binary npm installed (the `deno` package), why it cannot be used
 * when it is missing, and the api and worker started as users start them, with
 * `deno task start` and `deno task worker`.
 */
import { existsSync } from 'node:fs'
import { resolve } from 'node:path'
import { API_READY, spawnCommand, type Proc, WORKER_READY } from '../helpers/remote.ts'

export const DENO = resolve(import.meta.dir, '../../node_modules/.bin/deno')

/** Starting Deno compiles the TypeScript and PGlite's WebAssembly: half a minute on a loaded 2-core machine. */
const START_TIMEOUT = 120_000

async function probeDeno(): Promise<string | undefined> {
  if (!existsSync(DENO)) return `no deno binary at ${DENO} (npm install brings it with the "deno" package)`
  const p = Bun.spawn([DENO, '--version'], { stdout: 'pipe', stderr: 'pipe' })
  if ((await p.exited) !== 0) return `${DENO} --version failed: ${await new Response(p.stderr).text()}`
  return undefined
}

let probe: Promise<string | undefined> | undefined
/** Why Deno can't be used here, or undefined when it can. */
export const denoMissing = () => (probe ??= probeDeno())

/** The version line of the Deno in use, e.g. `deno 2.9.6`. */
export async function denoVersion(): Promise<string> {
  const p = Bun.spawn([DENO, '--version'], { stdout: 'pipe' })
  return (await new Response(p.stdout).text()).split('\n')[0]!.replace(/\s*\(.*$/, '')
}

/** `deno task start` with `env` (PORT 0 unless given); resolves once it listens. */
export const startDenoApi = (env: Record<string, string>): Promise<Proc> =>
  spawnCommand([DENO, 'task', 'start'], { PORT: '0', ...env }, API_READY, START_TIMEOUT)

/** `deno task worker` with its health endpoint on a free port; resolves once it runs. */
export const startDenoWorker = (env: Record<string, string>): Promise<Proc> =>
  spawnCommand([DENO, 'task', 'worker'], { WORKER_PORT: '0', ...env }, WORKER_READY, START_TIMEOUT)

/** SIGTERM, then wait up to `ms` for the exit code (SIGKILL after that). */
export async function terminate(p: Proc | undefined, ms = 30_000): Promise<number | null> {
  if (!p) return null
  if (p.proc.exitCode === null) p.proc.kill('SIGTERM')
  const code = await Promise.race([p.proc.exited, Bun.sleep(ms).then(() => null)])
  if (code === null) {
    p.proc.kill('SIGKILL')
    await p.proc.exited
  }
  return code
}
