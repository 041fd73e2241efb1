/**
 * The pool's gate: a counting semaphore in front of the database client. It decides how many
 * queries run at once (the pool's size × its pipeline depth; `pool-tuner` changes the size
 * while the process runs) and how long a query may wait for a place (`database.pool.acquireTimeout`): past
 * that the query fails with `503 OVERLOADED` and `Retry-After`, so a starved pool never hangs
 * a request.
 */
import { ScaleError } from '../errors.ts'

export interface GateStats {
  /** Queries allowed in at once. */
  size: number
  /** Queries (or transactions) in now; above `size` for a while after a shrink. */
  inUse: number
  /** Queries waiting for one. */
  waiting: number
}

export interface GateEvents {
  /** Every acquisition, with how long it waited (0 when a slot was free). */
  onAcquire?(waitMs: number): void
  /** A query gave up waiting after the acquire timeout. */
  onTimeout?(): void
}

export interface Gate {
  /** Take a slot when one is free at once (no allocation on this path). */
  tryAcquire(): boolean
  /** Wait for a slot; rejects with OVERLOADED after the acquire timeout. */
  acquire(): Promise<void>
  release(): void
  resize(size: number): void
  stats(): GateStats
  /** Refuse the queries still waiting (the pool is closing). */
  close(): void
}

interface Waiter {
  resolve(): void
  reject(e: Error): void
  timer: ReturnType<typeof setTimeout>
  at: number
}

/** @example const gate = createGate({ size: 10, timeoutMs: 5000 }); await gate.acquire(); try { ... } finally { gate.release() } */
export function createGate(opts: { size: number; timeoutMs: number } & GateEvents): Gate {
  let size = Math.max(1, opts.size)
  let inUse = 0
  const waiters: Waiter[] = []
  const retryAfter = String(Math.max(1, Math.ceil(opts.timeoutMs / 1000)))

  function drain(): void {
    while (inUse < size && waiters.length > 0) {
      const w = waiters.shift()!
      clearTimeout(w.timer)
      inUse++
      opts.onAcquire?.(performance.now() - w.at)
      w.resolve()
    }
  }

  const gate: Gate = {
    tryAcquire() {
      if (inUse >= size || waiters.length > 0) return false
      inUse++
      opts.onAcquire?.(0)
      return true
    },
    acquire() {
      if (gate.tryAcquire()) return Promise.resolve()
      return new Promise<void>((resolve, reject) => {
        const w: Waiter = {
          resolve,
          reject,
          at: performance.now(),
          timer: setTimeout(() => {
            const i = waiters.indexOf(w)
            if (i >= 0) waiters.splice(i, 1)
            opts.onTimeout?.()
            reject(
              new ScaleError(
                'OVERLOADED',
                `no database connection was free within ${opts.timeoutMs} ms (pool size ${size}, ${inUse} in use, ${waiters.length} waiting); try again shortly`,
                { headers: { 'retry-after': retryAfter } },
              ),
            )
          }, opts.timeoutMs),
        }
        w.timer.unref?.()
        waiters.push(w)
      })
    },
    release() {
      if (inUse > 0) inUse--
      drain()
    },
    resize(n) {
      size = Math.max(1, Math.floor(n))
      drain()
    },
    stats: () => ({ size, inUse, waiting: waiters.length }),
    close() {
      for (const w of waiters.splice(0)) {
        clearTimeout(w.timer)
        w.reject(new ScaleError('UNAVAILABLE', 'the database pool is closing'))
      }
    },
  }
  return gate
}
