/**
 * A private PgBouncer (Debian's `pgbouncer` package) in front of the shared PostgreSQL, on a
 * free port, for the transaction-pooler tests. As root it runs as the `postgres` user (it
 * refuses to run as root).
 */
import { spawn, spawnSync } from 'node:child_process'
import { chownSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { freePort } from '../../helpers/net.ts'

const BIN = ['/usr/sbin/pgbouncer', '/usr/bin/pgbouncer'].find((p) => existsSync(p))
const asRoot = typeof process.getuid === 'function' && process.getuid() === 0

/** Why PgBouncer can't be started here, or undefined when it can. */
export function pgbouncerMissing(): string | undefined {
  if (!BIN) return 'pgbouncer is not installed (apt-get install -y pgbouncer)'
  if (asRoot && spawnSync('id', ['postgres']).status !== 0) return 'running as root and there is no postgres user to run pgbouncer as'
  return undefined
}

export interface PrivatePgBouncer {
  port: number
  /** The same database URL, through PgBouncer. */
  through(url: string): string
  stop(): Promise<void>
}

export async function startPgBouncer(opts: { mode: 'transaction' | 'session'; poolSize: number; target: URL }): Promise<PrivatePgBouncer> {
  const port = await freePort()
  const dir = mkdtempSync(join(tmpdir(), 'scale-pgbouncer-'))
  if (asRoot) {
    const uid = Number(spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).stdout.trim())
    const gid = Number(spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).stdout.trim())
    chownSync(dir, uid, gid)
  }
  writeFileSync(join(dir, 'users.txt'), `"${decodeURIComponent(opts.target.username) || 'postgres'}" ""\n`)
  writeFileSync(
    join(dir, 'pgbouncer.ini'),
    [
      '[databases]',
      `* = host=${opts.target.hostname} port=${opts.target.port || 5432}`,
      '[pgbouncer]',
      'listen_addr = 127.0.0.1',
      `listen_port = ${port}`,
      'unix_socket_dir =',
      'auth_type = trust',
      `auth_file = ${join(dir, 'users.txt')}`,
      `pool_mode = ${opts.mode}`,
      'max_client_conn = 500',
      `default_pool_size = ${opts.poolSize}`,
      'ignore_startup_parameters = extra_float_digits,options',
      `pidfile = ${join(dir, 'pgbouncer.pid')}`,
    ].join('\n') + '\n',
  )
  const args = [...(asRoot ? ['-u', 'postgres'] : []), join(dir, 'pgbouncer.ini')]
  const proc = spawn(BIN!, args, { stdio: ['ignore', 'pipe', 'pipe'] })
  let log = ''
  proc.stdout.on('data', (d) => (log += d))
  proc.stderr.on('data', (d) => (log += d))
  const deadline = Date.now() + 10_000
  while (!/listening on 127\.0\.0\.1:\d+/.test(log)) {
    if (proc.exitCode !== null || Date.now() > deadline) {
      proc.kill('SIGKILL')
      rmSync(dir, { recursive: true, force: true })
      throw new Error(`pgbouncer did not start:\n${log}`)
    }
    await Bun.sleep(50)
  }
  let stopped: Promise<void> | undefined
  return {
    port,
    through(url) {
      const u = new URL(url)
      u.host = `127.0.0.1:${port}`
      return u.toString()
    },
    stop: () =>
      (stopped ??= (async () => {
        if (proc.exitCode === null) {
          proc.kill('SIGINT')
          await Promise.race([new Promise((r) => proc.once('exit', r)), Bun.sleep(3000)])
          if (proc.exitCode === null) proc.kill('SIGKILL')
        }
        rmSync(dir, { recursive: true, force: true })
      })()),
  }
}
