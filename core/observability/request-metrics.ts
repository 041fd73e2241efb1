/**
 * The request metrics, `http_requests_total{method,route,status}` and
 * `http_request_duration_seconds{method,route}`, counted in plain numbers per route and
 * method and read by the prom-client registry at scrape time.
 *
 * prom-client's own Counter and Histogram hash their label values on every `inc` and
 * `observe`, even through a `labels()` child: on a no-op route that was a tenth of what a
 * request cost. Here a request finds its route's entry in two map lookups and adds to
 * numbers; the registry asks `get()`, which answers in the shape prom-client's own metrics
 * answer (`values` of `{ labels, value, metricName }`), so `/metrics` prints exactly what it
 * printed before.
 */
import type { Registry } from 'prom-client'

/** One sample: label values, value, and the series name where it differs from the metric's (`_bucket`, `_sum`, `_count`). */
export interface Sample<L extends string> {
  labels: Partial<Record<L, string | number>>
  value: number
  metricName?: string
}

/** What prom-client's own metrics answer to `get()`. */
export interface Snapshot<L extends string> {
  name: string
  help: string
  type: 'counter' | 'histogram'
  aggregator: 'sum'
  values: Sample<L>[]
}

export interface RequestMetric<L extends string> {
  name: string
  help: string
  type: 'counter' | 'histogram'
  aggregator: 'sum'
  get(): Promise<Snapshot<L>>
  reset(): void
}

export interface RequestMetrics {
  /** One answered request. */
  record(method: string, route: string, status: number, seconds: number): void
  requests: RequestMetric<'method' | 'route' | 'status'>
  latency: RequestMetric<'method' | 'route' | 'le'>
}

/** Upper bounds of the latency buckets, in seconds. */
export const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]

interface Entry {
  method: string
  route: string
  /** Requests by status. */
  statuses: Map<number, number>
  /** Per bucket (the last is +Inf), not cumulative. */
  buckets: Float64Array
  sum: number
  count: number
}

export function createRequestMetrics(registry: Registry): RequestMetrics {
  const byRoute = new Map<string, Map<string, Entry>>()
  const entries: Entry[] = []
  const bounds = LATENCY_BUCKETS

  function entry(method: string, route: string): Entry {
    let methods = byRoute.get(route)
    if (!methods) byRoute.set(route, (methods = new Map()))
    let e = methods.get(method)
    if (!e) {
      e = { method, route, statuses: new Map(), buckets: new Float64Array(bounds.length + 1), sum: 0, count: 0 }
      methods.set(method, e)
      entries.push(e)
    }
    return e
  }

  const reset = () => {
    byRoute.clear()
    entries.length = 0
  }

  const requests: RequestMetric<'method' | 'route' | 'status'> = {
    name: 'http_requests_total',
    help: 'HTTP requests by method, route pattern and status',
    type: 'counter',
    aggregator: 'sum',
    async get() {
      const values: Sample<'method' | 'route' | 'status'>[] = []
      for (const e of entries) {
        for (const [status, n] of e.statuses) values.push({ labels: { method: e.method, route: e.route, status }, value: n })
      }
      return { name: this.name, help: this.help, type: this.type, values, aggregator: this.aggregator }
    },
    reset,
  }

  const latency: RequestMetric<'method' | 'route' | 'le'> = {
    name: 'http_request_duration_seconds',
    help: 'HTTP request latency by method and route pattern',
    type: 'histogram',
    aggregator: 'sum',
    async get() {
      const values: Sample<'method' | 'route' | 'le'>[] = []
      const bucket = `${this.name}_bucket`
      for (const e of entries) {
        let cumulative = 0
        for (let i = 0; i <= bounds.length; i++) {
          cumulative += e.buckets[i]!
          values.push({ labels: { le: i < bounds.length ? bounds[i]! : '+Inf', method: e.method, route: e.route }, value: cumulative, metricName: bucket })
        }
        values.push({ labels: { method: e.method, route: e.route }, value: e.sum, metricName: `${this.name}_sum` })
        values.push({ labels: { method: e.method, route: e.route }, value: e.count, metricName: `${this.name}_count` })
      }
      return { name: this.name, help: this.help, type: this.type, values, aggregator: this.aggregator }
    },
    reset,
  }

  registry.registerMetric(requests as never)
  registry.registerMetric(latency as never)

  return {
    record(method, route, status, seconds) {
      const e = entry(method, route)
      e.statuses.set(status, (e.statuses.get(status) ?? 0) + 1)
      let i = 0
      while (i < bounds.length && seconds > bounds[i]!) i++
      e.buckets[i] = e.buckets[i]! + 1
      e.sum += seconds
      e.count++
    },
    requests,
    latency,
  }
}
