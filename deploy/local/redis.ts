/** A private redis-server on a free port, nothing kept on disk: the shared state of `npm run cluster`. */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { freePort } from './net.ts'

export interface LocalRedis {
  url: string
  port: number
  stop(): Promise<void>
}

/** Why redis-server can't be started here, or undefined when it can. */
export function redisServerMissing(): string | undefined {
  return spawnSync('redis-server', ['--version']).status === 0 ? undefined : 'redis-server is not installed'
}

const ping = (port: number) => spawnSync('redis-cli', ['-p', String(port), 'ping'], { encoding: 'utf8' }).stdout?.trim() === 'PONG'

export async function startLocalRedis(): Promise<LocalRedis> {
  const port = await freePort()
  const proc: ChildProcess = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--maxclients', '2000'],
    { stdio: 'ignore' },
  )
  for (let i = 0; i < 200 && !ping(port); i++) await new Promise((r) => setTimeout(r, 50))
  if (!ping(port)) {
    proc.kill('SIGKILL')
    throw new Error(`redis-server on port ${port} did not start`)
  }
  let stopped: Promise<void> | undefined
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    stop: () =>
      (stopped ??= new Promise<void>((resolve) => {
        if (proc.exitCode !== null) return resolve()
        proc.once('exit', () => resolve())
        proc.kill('SIGTERM')
      })),
  }
}
