/**
 * Lua scripts kept as files, run with EVALSHA (the script's hash, a short command) and,
 * when the server does not know the script yet (after a restart, a failover, on a new
 * cluster node), once with EVAL, which also caches it for the next EVALSHA.
 */
import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import type { RedisClient } from '../types.ts'

export interface LuaScript {
  /** File name, for errors and logs. */
  name: string
  source: string
  sha: string
}

/** Read a script file once (at start-up), e.g. `loadScript(new URL('./lua/x.lua', import.meta.url))`. */
export function loadScript(file: URL): LuaScript {
  const source = readFileSync(file, 'utf8')
  return { name: file.pathname.split('/').pop() ?? 'script.lua', source, sha: createHash('sha1').update(source).digest('hex') }
}

/** Run `script` with `keys` and `args`: one round trip, two only the first time a server sees it. */
export function runScript<T = unknown>(redis: RedisClient, script: LuaScript, keys: string[], args: (string | number)[]): Promise<T> {
  return (redis.evalsha(script.sha, keys.length, ...keys, ...args) as Promise<T>).catch((e: Error) => {
    if (!isNoScript(e)) throw e
    return redis.eval(script.source, keys.length, ...keys, ...args) as Promise<T>
  })
}

export const isNoScript = (e: unknown): boolean => typeof (e as Error)?.message === 'string' && (e as Error).message.startsWith('NOSCRIPT')
