/**
 * A redis-server of the test's own on a free port, for outage tests: it can be paused,
 * stopped and started again without touching the shared server other tests use.
 */
import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { freePort } from '../helpers/net.ts'

export interface PrivateRedis {
  url: string
  port: number
  start(): Promise<void>
  /** Stop at once (SIGKILL): what a crash looks like to clients. Only a `durable` server keeps its data. */
  kill(): Promise<void>
  /** Stop it and remove its data folder. */
  remove(): Promise<void>
}

export interface PrivateRedisOptions {
  /** Keep the data across a SIGKILL: an append-only file in a temp folder, fsync on every write. @default false */
  durable?: boolean
}

/** Why a private redis-server can't be started, or undefined when it can. */
export function redisServerMissing(): string | undefined {
  const r = spawnSync('redis-server', ['--version'], { encoding: 'utf8' })
  return r.status === 0 ? undefined : 'redis-server is not installed (the outage tests start their own)'
}

export async function privateRedis(options: PrivateRedisOptions = {}): Promise<PrivateRedis> {
  const port = await freePort()
  const dir = options.durable ? mkdtempSync(join(tmpdir(), 'private-redis-')) : undefined
  const persistence = dir ? ['--dir', dir, '--appendonly', 'yes', '--appendfsync', 'always'] : ['--appendonly', 'no']
  let proc: ReturnType<typeof Bun.spawn> | undefined
  const ping = () => spawnSync('redis-cli', ['-p', String(port), 'ping'], { encoding: 'utf8' }).stdout?.trim() === 'PONG'
  const self: PrivateRedis = {
    url: `redis://127.0.0.1:${port}`,
    port,
    async start() {
      proc = Bun.spawn(['redis-server', '--port', String(port), '--bind', '127.0.0.1', '--save', '', ...persistence], {
        stdout: 'ignore',
        stderr: 'ignore',
      })
      for (let i = 0; i < 100 && !ping(); i++) await Bun.sleep(50)
      if (!ping()) throw new Error(`private redis-server on port ${port} did not start`)
    },
    async kill() {
      proc?.kill('SIGKILL')
      await proc?.exited
      proc = undefined
    },
    async remove() {
      await self.kill()
      if (dir) rmSync(dir, { recursive: true, force: true })
    },
  }
  await self.start()
  return self
}
