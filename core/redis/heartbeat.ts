/**
 * Process heartbeats in Redis: each api instance and worker of a deployment registers with a
 * TTL and what it wants others to know (its role, its pool limits), so the count of live
 * processes follows scale-out and crashes. `pool-tuner` beats; `doctor` reads.
 */
import type { RedisClient } from '../types.ts'
import { taggedKey } from './keys.ts'
import { loadScript, runScript } from './script.ts'

const script = loadScript(new URL('./lua/heartbeat.lua', import.meta.url))

/** What a process publishes with each beat. */
export interface ProcessInfo {
  role: 'api' | 'worker'
  host: string
  pid: number
  /** Pool limits it holds now, by pool name (`primary`, replica names). */
  limits: Record<string, number>
}

export interface LiveProcess extends ProcessInfo {
  id: string
}

/** The two keys of a group (one hash tag, so one script can touch both on a Cluster). */
export function heartbeatKeys(prefix: string, group: string): [string, string] {
  return [taggedKey(prefix, 'procs', group), taggedKey(prefix, 'procs', group, ':info')]
}

function parse(flat: string[]): LiveProcess[] {
  const out: LiveProcess[] = []
  for (let i = 0; i + 1 < flat.length; i += 2) {
    let info: Partial<ProcessInfo> = {}
    try {
      info = JSON.parse(flat[i + 1]!)
    } catch {}
    out.push({ role: 'api', host: '', pid: 0, limits: {}, ...info, id: flat[i]! })
  }
  return out
}

/** Beat (or, with `info` undefined, leave) and get the live processes of the group, this one included. */
export async function beat(
  redis: RedisClient,
  keys: [string, string],
  id: string,
  ttlMs: number,
  info?: ProcessInfo,
): Promise<LiveProcess[]> {
  return parse(await runScript<string[]>(redis, script, keys, [id, ttlMs, info ? JSON.stringify(info) : '']))
}

/** The live processes of a group, without beating. */
export async function liveProcesses(redis: RedisClient, keys: [string, string]): Promise<LiveProcess[]> {
  return parse(await runScript<string[]>(redis, script, keys, ['', 1, '']))
}
