/**
 * A circuit breaker in front of Redis: after a few failures in a row (or as soon as the
 * connection is lost) it stops sending commands, probes with PING in the background, and
 * lets traffic through again when a probe succeeds.
 */

export interface BreakerOptions {
  /** Failures in a row (errors or timeouts) that open the breaker. */
  failures: number
  /** How often an open breaker probes. */
  probeIntervalMs: number
  /** Whether the connection is up (no point probing, or sending, while it is not). */
  connected(): boolean
  /** One cheap command; resolves when Redis answers. */
  probe(): Promise<unknown>
  /** Called on every change of state, with the reason. */
  onChange(open: boolean, why: string): void
}

export interface Breaker {
  /** Whether a call may go to Redis now. Opens the breaker when the connection is down. */
  allows(): boolean
  success(): void
  failure(err: unknown): void
  isOpen(): boolean
  stop(): void
}

export function createBreaker(opts: BreakerOptions): Breaker {
  let open = false
  let failures = 0
  let probing = false
  let timer: ReturnType<typeof setInterval> | undefined

  function trip(why: string) {
    if (open) return
    open = true
    failures = 0
    opts.onChange(true, why)
    timer = setInterval(probe, opts.probeIntervalMs)
    ;(timer as { unref?: () => void }).unref?.()
  }

  async function probe() {
    if (probing || !opts.connected()) return
    probing = true
    try {
      await opts.probe()
      if (!open) return
      open = false
      clearInterval(timer)
      timer = undefined
      opts.onChange(false, 'redis answers again')
    } catch {
      // still down: the next tick tries again
    } finally {
      probing = false
    }
  }

  return {
    allows() {
      if (open) return false
      if (opts.connected()) return true
      trip('the connection to redis is down')
      return false
    },
    success() {
      failures = 0
    },
    failure(err) {
      if (++failures >= opts.failures) trip((err as Error)?.message ?? String(err))
    },
    isOpen: () => open,
    stop() {
      clearInterval(timer)
      timer = undefined
    },
  }
}
