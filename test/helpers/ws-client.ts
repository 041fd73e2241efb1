/** A WebSocket test client: collects JSON frames and waits for one matching a predicate. */
export type Frame = Record<string, any>

export function wsClient(url: string, protocols?: string[], defaultTimeoutMs = 20_000) {
  const ws = new WebSocket(url, protocols)
  const frames: Frame[] = []
  const waiters = new Set<() => void>()
  let closeEvent: CloseEvent | undefined
  ws.onmessage = (m) => {
    frames.push(JSON.parse(String(m.data)))
    for (const w of [...waiters]) w()
  }
  ws.onclose = (e) => {
    closeEvent = e
    for (const w of [...waiters]) w()
  }
  const until = <T>(fn: () => T | undefined, ms = defaultTimeoutMs) =>
    new Promise<T>((resolve, reject) => {
      const check = () => {
        const v = fn()
        if (v !== undefined) {
          waiters.delete(check)
          clearTimeout(timer)
          resolve(v)
        }
      }
      const timer = setTimeout(() => {
        waiters.delete(check)
        reject(new Error(`timed out; frames: ${JSON.stringify(frames).slice(0, 500)}`))
      }, ms)
      waiters.add(check)
      check()
    })
  return {
    ws,
    frames,
    opened: new Promise<void>((resolve, reject) => {
      ws.onopen = () => resolve()
      ws.onerror = () => reject(new Error('websocket failed to open'))
    }),
    send: (f: unknown) => ws.send(typeof f === 'string' ? f : JSON.stringify(f)),
    next: (pred: (f: Frame) => boolean, ms?: number) => until(() => frames.find(pred), ms),
    closed: () => until(() => closeEvent),
    jobEvents: (jobId: string) => frames.filter((f) => f.jobId === jobId && typeof f.seq === 'number'),
  }
}
