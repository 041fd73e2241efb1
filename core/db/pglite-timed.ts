/**
 * The embedded database with its statements timed for the slow-query log and metrics: a view
 * of the PGlite instance whose `query` and `transaction` report each statement's duration.
 * PGlite is one connection that queues its own callers, so there is no gate in front of it.
 */
import type { PGlite } from '@electric-sql/pglite'
import type { QueryObserver } from './postgres-pool.ts'

type Queryable = Pick<PGlite, 'query'>

function timedQuery(target: Queryable, observe: QueryObserver) {
  return async (text: string, params?: unknown[], options?: object) => {
    const start = performance.now()
    try {
      return await target.query(text, params, options)
    } finally {
      observe(text, performance.now() - start)
    }
  }
}

export function timePglite(pglite: PGlite, observe: QueryObserver): PGlite {
  const query = timedQuery(pglite, observe)
  const transaction = async (fn: (tx: unknown) => unknown) => {
    const start = performance.now()
    try {
      return await pglite.transaction(
        (tx) => fn(new Proxy(tx, { get: (t, p) => (p === 'query' ? timedQuery(t, observe) : Reflect.get(t, p)) })) as never,
      )
    } finally {
      observe(undefined, performance.now() - start)
    }
  }
  return new Proxy(pglite, {
    get(target, prop) {
      if (prop === 'query') return query
      if (prop === 'transaction') return transaction
      const v = Reflect.get(target, prop)
      return typeof v === 'function' ? v.bind(target) : v
    },
  })
}
