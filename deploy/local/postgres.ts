/**
 * A private PostgreSQL server: a fresh cluster (`initdb`) on a free port under a temp dir,
 * optionally with a streaming replica (`pg_basebackup -R`). `npm run cluster` runs its
 * database on one; outage, pool-sizing and replica tests stop, kill and restart one without
 * touching a shared server.
 *
 * PostgreSQL refuses to run as root, so when the tests run as root the server runs as the
 * `postgres` user (`runuser`), and its folder belongs to that user.
 */
import { spawnSync, type SpawnSyncReturns } from 'node:child_process'
import { chownSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import postgres from 'postgres'
import { freePort } from './net.ts'

const BIN_DIRS = ['/usr/lib/postgresql/15/bin', '/usr/lib/postgresql/16/bin', '/usr/lib/postgresql/17/bin']

function binDir(): string | undefined {
  const fromEnv = process.env.PG_BIN_DIR
  if (fromEnv && existsSync(join(fromEnv, 'initdb'))) return fromEnv
  return BIN_DIRS.find((d) => existsSync(join(d, 'initdb')))
}

const asRoot = typeof process.getuid === 'function' && process.getuid() === 0

/** Why a private PostgreSQL can't be started here, or undefined when it can. */
export function postgresServerMissing(): string | undefined {
  if (!binDir()) return 'PostgreSQL server binaries (initdb, pg_ctl) are not installed'
  if (asRoot && spawnSync('id', ['postgres']).status !== 0) return 'running as root and there is no postgres user to run PostgreSQL as'
  return undefined
}

function run(bin: string, args: string[], what: string): SpawnSyncReturns<string> {
  const dir = binDir()
  if (!dir) throw new Error('PostgreSQL server binaries are not installed')
  const cmd = join(dir, bin)
  const r = asRoot
    ? spawnSync('runuser', ['-u', 'postgres', '--', cmd, ...args], { encoding: 'utf8', cwd: tmpdir() })
    : spawnSync(cmd, args, { encoding: 'utf8' })
  if (r.status !== 0) throw new Error(`${what} failed (exit ${r.status}): ${r.stderr || r.stdout}`)
  return r
}

function ownedTempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix))
  if (asRoot) {
    const id = spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' })
    const gid = spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' })
    chownSync(dir, Number(id.stdout.trim()), Number(gid.stdout.trim()))
  }
  return dir
}

export interface PrivatePostgres {
  /** `postgres://postgres@127.0.0.1:<port>/postgres` */
  url: string
  port: number
  dataDir: string
  /** Start (again) after stop() or kill(); waits until it accepts connections. */
  start(): Promise<void>
  /** Clean shutdown (fast mode: open sessions are ended). */
  stop(): Promise<void>
  /** Immediate shutdown, no checkpoint: what a crash looks like to clients. */
  kill(): Promise<void>
  /** Run one statement on a short-lived connection and return its rows. */
  sql<T = Record<string, unknown>>(query: string): Promise<T[]>
  /** Stop if running and delete the data folder. Safe to call more than once. */
  remove(): Promise<void>
}

export interface PrivatePostgresOptions {
  /** postgresql.conf settings, e.g. `{ max_connections: '30' }`. */
  settings?: Record<string, string>
}

function confLines(port: number, settings: Record<string, string>): string {
  const all: Record<string, string> = {
    listen_addresses: "'127.0.0.1'",
    port: String(port),
    unix_socket_directories: "''",
    fsync: 'off',
    full_page_writes: 'off',
    synchronous_commit: 'off',
    wal_level: 'replica',
    max_wal_senders: '5',
    hot_standby: 'on',
    hot_standby_feedback: 'on',
    wal_receiver_status_interval: '1s',
    ...settings,
  }
  return Object.entries(all)
    .map(([k, v]) => `${k} = ${v}`)
    .join('\n')
}

function server(dataDir: string, port: number): PrivatePostgres {
  const log = join(dataDir, 'server.log')
  let running = false
  let removed = false
  const ctl = (args: string[], what: string) => run('pg_ctl', ['-D', dataDir, ...args], what)
  const self: PrivatePostgres = {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    port,
    dataDir,
    async start() {
      ctl(['-l', log, '-w', '-t', '60', 'start'], `starting PostgreSQL on port ${port}`)
      running = true
    },
    async stop() {
      if (!running) return
      ctl(['-m', 'fast', '-w', '-t', '60', 'stop'], `stopping PostgreSQL on port ${port}`)
      running = false
    },
    async kill() {
      if (!running) return
      ctl(['-m', 'immediate', '-w', '-t', '60', 'stop'], `killing PostgreSQL on port ${port}`)
      running = false
    },
    async sql<T>(query: string): Promise<T[]> {
      const c = postgres(self.url, { max: 1, connect_timeout: 5, onnotice: () => {} })
      try {
        return (await c.unsafe(query)) as unknown as T[]
      } finally {
        await c.end({ timeout: 1 })
      }
    },
    async remove() {
      if (removed) return
      try {
        await self.kill()
      } finally {
        removed = true
        rmSync(dirname(dataDir), { recursive: true, force: true })
      }
    },
  }
  return self
}

/** Start a fresh primary on a free port; `remove()` it when done. */
export async function startPrivatePostgres(opts: PrivatePostgresOptions = {}): Promise<PrivatePostgres> {
  const port = await freePort()
  const dataDir = join(ownedTempDir('scale-pg-'), 'data')
  run('initdb', ['-D', dataDir, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-sync'], 'initdb')
  writeFileSync(join(dataDir, 'postgresql.auto.conf'), confLines(port, opts.settings ?? {}) + '\n')
  return startOrRemove(server(dataDir, port))
}

/** Start `pg`; when it fails, remove its folder and say why with the end of its log. */
async function startOrRemove(pg: PrivatePostgres): Promise<PrivatePostgres> {
  try {
    await pg.start()
    return pg
  } catch (e) {
    const log = join(pg.dataDir, 'server.log')
    const tail = existsSync(log) ? readFileSync(log, 'utf8').split('\n').slice(-8).join('\n') : ''
    await pg.remove().catch(() => {})
    throw new Error(`${(e as Error).message}\n${tail}`)
  }
}

/**
 * A streaming replica of `primary` on a free port (`pg_basebackup -R`), started and
 * following. `settings` go into its own postgresql.auto.conf, e.g.
 * `{ recovery_min_apply_delay: "'2s'" }`.
 */
export async function startReplica(primary: PrivatePostgres, opts: PrivatePostgresOptions = {}): Promise<PrivatePostgres> {
  const port = await freePort()
  const dataDir = join(ownedTempDir('scale-pg-replica-'), 'data')
  run(
    'pg_basebackup',
    ['-h', '127.0.0.1', '-p', String(primary.port), '-U', 'postgres', '-D', dataDir, '-R', '-X', 'stream', '--no-sync'],
    'pg_basebackup',
  )
  // The copy has the primary's settings (a standby needs max_connections and the like at
  // least as high) and the primary_conninfo -R added; ours go after them, so they win.
  const auto = join(dataDir, 'postgresql.auto.conf')
  const copied = readFileSync(auto, 'utf8')
    .split('\n')
    .filter((l) => l.trim() && !/^port\s*=/.test(l))
  writeFileSync(auto, [...copied, confLines(port, opts.settings ?? {})].join('\n') + '\n')
  return startOrRemove(server(dataDir, port))
}
