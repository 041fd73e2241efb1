/**
 * Cluster-wide single flight, the waiting side: a miss whose key another caller is loading
 * waits for that load's result (announced on pub/sub, and polled in case the message is
 * lost), for a bounded time; then the caller loads by itself.
 */

/** A load's result as waiters read it: `v<json>` a value, `u` undefined, `e<message>` the load failed. */
export function encodeResult(value: unknown, failed: boolean, json?: string): string {
  if (failed) return `e${(value as Error)?.message ?? String(value)}`
  return value === undefined ? 'u' : `v${json ?? JSON.stringify(value)}`
}

/** The value of a result, or the load's error thrown again. */
export function decodeResult(result: string): unknown {
  if (result.startsWith('v')) return JSON.parse(result.slice(1))
  if (result.startsWith('e')) throw new Error(result.slice(1))
  return undefined
}

export interface WaitersOptions {
  /** Read a load's result, null while there is none. */
  read(key: string, token: string): Promise<string | null>
  /** Whether Redis may be asked now (false while it is unreachable: stop waiting). */
  allows(): boolean
  failed(e: unknown): void
  /** The longest a caller waits. */
  waitMs: number
  /** How often the result is polled. @default 50 */
  pollMs?: number
}

export function createWaiters(opts: WaitersOptions) {
  const pollMs = opts.pollMs ?? 50
  const checks = new Map<string, Set<() => void>>()
  const finishers = new Set<() => void>()
  const id = (key: string, token: string) => `${key}\n${token}`

  return {
    /** The result of the load `token` runs for `key`, or undefined when it did not come in time. */
    wait(key: string, token: string): Promise<string | undefined> {
      return new Promise((resolve) => {
        let done = false
        const name = id(key, token)
        const finish = (result: string | undefined) => {
          if (done) return
          done = true
          clearInterval(poll)
          clearTimeout(timer)
          checks.get(name)?.delete(check)
          if (checks.get(name)?.size === 0) checks.delete(name)
          finishers.delete(stop)
          resolve(result)
        }
        const stop = () => finish(undefined)
        const check = () => {
          if (done) return
          if (!opts.allows()) return finish(undefined)
          opts.read(key, token).then(
            (r) => {
              if (r !== null) finish(r)
            },
            (e) => {
              opts.failed(e)
              finish(undefined)
            },
          )
        }
        let set = checks.get(name)
        if (set === undefined) checks.set(name, (set = new Set()))
        set.add(check)
        finishers.add(stop)
        const poll = setInterval(check, pollMs)
        const timer = setTimeout(stop, opts.waitMs)
        ;(poll as { unref?: () => void }).unref?.()
        ;(timer as { unref?: () => void }).unref?.()
        check() // the load may have finished between the read and now
      })
    },
    /** The load `token` for `key` has finished: its waiters read the result now. */
    notify(key: string, token: string) {
      for (const check of checks.get(id(key, token)) ?? []) check()
    },
    stop() {
      for (const stop of [...finishers]) stop()
    },
  }
}
