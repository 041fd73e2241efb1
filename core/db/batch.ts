/**
 * Calls made together: what arrives while `inFlight` batches run waits, and goes in one batch
 * (at most `max` items) as soon as one of them ends. An idle batcher runs a call at once, with
 * the calls made in the same turn of the event loop, so a lone call waits for nothing; under a
 * burst the database sees a few statements of many rows instead of one per call (each
 * statement costs a parse, a plan, a commit and a round trip).
 *
 * A batch that fails runs each of its items alone (`one`), so an item's own error reaches its
 * caller only and the others still go through.
 */
export interface BatchOptions<In, Out> {
  /** Run a batch of two or more; the answer has one entry per item, in order. */
  many(items: In[]): Promise<Out[]>
  /** Run one item alone (a batch of one, and each item of a failed batch). */
  one(item: In): Promise<Out>
  /** @default 200 */
  max?: number
  /** @default 4 */
  inFlight?: number
}

export function batcher<In, Out>(opts: BatchOptions<In, Out>): (item: In) => Promise<Out> {
  const { many, one } = opts
  const max = opts.max ?? 200
  const inFlight = opts.inFlight ?? 4
  let waiting: { item: In; resolve: (v: Out) => void; reject: (e: unknown) => void }[] = []
  let running = 0
  let scheduled = false

  const settle = (w: (typeof waiting)[number], p: Promise<Out>) => p.then(w.resolve, w.reject)

  async function run() {
    scheduled = false
    while (waiting.length && running < inFlight) {
      const batch = waiting.slice(0, max)
      waiting = waiting.slice(batch.length)
      running++
      void (async () => {
        try {
          if (batch.length === 1) await settle(batch[0]!, one(batch[0]!.item))
          else {
            let out: Out[] | undefined
            try {
              out = await many(batch.map((w) => w.item))
            } catch {
              await Promise.all(batch.map((w) => settle(w, one(w.item))))
            }
            if (out) batch.forEach((w, i) => w.resolve(out[i]!))
          }
        } finally {
          running--
          if (waiting.length) run()
        }
      })()
    }
  }

  return (item) =>
    new Promise<Out>((resolve, reject) => {
      waiting.push({ item, resolve, reject })
      if (!scheduled && running < inFlight) {
        scheduled = true
        queueMicrotask(run)
      }
    })
}
