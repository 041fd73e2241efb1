/**
 * The waiting line as every api instance sees it, read from BullMQ's keys and the workers'
 * heartbeats: counts by state, a job's position, and admission (a send is refused at once
 * when its tier's line, or the whole line beyond what the live workers can run, is too long).
 */
import { ScaleError, type RedisClient, type Tier } from 'scale-runtime/plugin'
import type { QueueKeys, ResolvedQueueOptions } from './options.ts'

/** How long the live workers' capacity is reused between sends. */
const CAPACITY_TTL_MS = 1_000
/** A typical reply's run time, for the Retry-After of a full line. */
const TYPICAL_RUN_MS = 10_000

export interface LineDeps {
  command: RedisClient
  keys: QueueKeys
  options: ResolvedQueueOptions
  /** Jobs this process's own worker runs at once (0 without one). */
  localSlots(): number
}

const retryAfter = (over: number, slots: number) =>
  Math.min(60, Math.max(1, Math.ceil((TYPICAL_RUN_MS * Math.max(1, over)) / Math.max(1, slots) / 1000)))

const sumSlots = (members: string[]) => members.reduce((n, m) => n + (Number(m.split('|')[1]) || 0), 0)

export function createLine({ command, keys, options, localSlots }: LineDeps) {
  const bullKey = (s: string) => `${keys.bullPrefix}:${keys.bullQueue}:${s}`
  const priorityOf = (tier: Tier) => options.priorities[tier] ?? options.priorities.free
  let capacity = { at: 0, slots: 0 }

  return {
    priorityOf,

    /** Live workers (heartbeat not expired) and the jobs they can run at once. */
    async liveWorkers(now = Date.now()): Promise<{ workers: number; slots: number }> {
      const members = await command.zrangebyscore(keys.workers, now, '+inf')
      return { workers: members.length, slots: sumSlots(members) }
    },

    async counts(): Promise<Record<string, number>> {
      const r = await command
        .multi()
        .llen(bullKey('wait'))
        .zcard(bullKey('prioritized'))
        .llen(bullKey('active'))
        .zcard(bullKey('delayed'))
        .zcard(bullKey('failed'))
        .zcard(bullKey('completed'))
        .exec()
      const n = (i: number) => Number(r?.[i]?.[1] ?? 0)
      return { waiting: n(0) + n(1), active: n(2), delayed: n(3), failed: n(4), completed: n(5) }
    },

    /** Place in line (1 = next), or undefined when the job is not waiting (running, or in a retry's backoff). */
    async position(id: string): Promise<number | undefined> {
      const r = await command.multi().llen(bullKey('wait')).zrank(bullKey('prioritized'), id).exec()
      const rank = r?.[1]?.[1]
      return typeof rank === 'number' ? Number(r?.[0]?.[1] ?? 0) + rank + 1 : undefined
    },

    /**
     * Resolves when a job of `tier` may join the line; throws `OVERLOADED` with a Retry-After
     * otherwise. One round trip: plain reads on the auto-pipelined connection, so they share a
     * socket write with the job's creation sent in the same turn (no MULTI: the counts only
     * estimate the line, which changes the moment they are read).
     */
    async admit(tier: Tier): Promise<void> {
      const now = Date.now()
      const priority = priorityOf(tier)
      const fresh = now - capacity.at > CAPACITY_TTL_MS
      // BullMQ scores a prioritized job `priority * 2^32 + counter`: one tier's line is one score range.
      const [wait, prioritized, active, tierWaiting, workers] = await Promise.all([
        command.llen(bullKey('wait')),
        command.zcard(bullKey('prioritized')),
        command.llen(bullKey('active')),
        command.zcount(bullKey('prioritized'), priority * 2 ** 32, (priority + 1) * 2 ** 32 - 1),
        fresh ? command.zrangebyscore(keys.workers, now, '+inf') : undefined,
      ])
      if (workers) capacity = { at: now, slots: sumSlots(workers) }
      const slots = Math.max(capacity.slots, localSlots())

      const tierLimit = options.maxWaiting[tier]
      if (tierLimit !== undefined && tierWaiting >= tierLimit) {
        const seconds = retryAfter(tierWaiting - tierLimit + 1, slots)
        throw new ScaleError('OVERLOADED', `too many ${tier} replies waiting (${tierWaiting}, limit ${tierLimit}); retry in ${seconds} s`, {
          headers: { 'Retry-After': String(seconds) },
        })
      }
      const waiting = wait + prioritized
      if (waiting + active < options.maxQueued + slots) return
      const seconds = retryAfter(waiting - options.maxQueued + 1, slots)
      throw new ScaleError(
        'OVERLOADED',
        `too many replies in line (${waiting} waiting, ${active} running, limit ${options.maxQueued} waiting beyond ${slots} worker slots); retry in ${seconds} s`,
        { headers: { 'Retry-After': String(seconds) } },
      )
    },
  }
}

export type Line = ReturnType<typeof createLine>
