/**
 * The request a piece of work belongs to, without passing it down every call: the slow-query
 * log asks here for the request id and route pattern of the query it reports.
 */
import { AsyncLocalStorage } from 'node:async_hooks'

/** What the request hooks store: the request id, and the route pattern once routed. */
export interface RequestScope {
  reqId: string
  route?: string
}

const storage = new AsyncLocalStorage<RequestScope>()

/**
 * Mark the rest of this request's work (its hooks, handler and the promises they start) as
 * belonging to `scope`. Called once per request, from the first request hook.
 */
export function enterRequest(scope: RequestScope): void {
  storage.enterWith(scope)
}

/** The request id and route of the work running now; undefined outside a request (workers, timers). */
export function currentRequest(): RequestScope | undefined {
  return storage.getStore()
}

/** Record the matched route pattern on the current request's scope. */
export function setRequestRoute(route: string): void {
  const s = storage.getStore()
  if (s) s.route = route
}
