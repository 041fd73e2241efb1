/**
 * Draining: begun once, when shutdown starts. The readiness probe answers 503, responses ask
 * the client (a load balancer's keep-alive connection) to close, and open WebSockets are
 * closed with 1012 (service restart) at once, so that their clients reconnect elsewhere and
 * resume while this instance still answers; the adapter closes any left when it stops listening.
 */
export interface Drain {
  readonly draining: boolean
  /** Run `fn` when draining begins (at once if it already has). */
  onDrain(fn: () => void): void
  begin(): void
}

export function createDrain(): Drain {
  const waiting: (() => void)[] = []
  let draining = false
  return {
    get draining() {
      return draining
    },
    onDrain(fn) {
      if (draining) fn()
      else waiting.push(fn)
    },
    begin() {
      if (draining) return
      draining = true
      for (const fn of waiting.splice(0)) fn()
    },
  }
}
