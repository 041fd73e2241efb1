/** Prometheus metrics (prom-client): requests by route and status, latency (request-metrics.ts), slot gauges. */
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client'
import { createRequestMetrics, type RequestMetrics } from './request-metrics.ts'

export interface HttpMetrics {
  registry: Registry
  /** `http_requests_total` and `http_request_duration_seconds`, and `record` to count a request in both. */
  requests: RequestMetrics['requests']
  latency: RequestMetrics['latency']
  record: RequestMetrics['record']
  rateLimited: Counter<'group'>
  /** Open WebSocket connections on this instance. */
  sockets: Gauge
}

export function createMetrics(): HttpMetrics {
  const registry = new Registry()
  collectDefaultMetrics({ register: registry })
  const { requests, latency, record } = createRequestMetrics(registry)
  return {
    registry,
    requests,
    latency,
    record,
    rateLimited: new Counter({
      name: 'rate_limited_total',
      help: 'Requests and frames refused by the rate limiter, by route group',
      labelNames: ['group'],
      registers: [registry],
    }),
    sockets: new Gauge({
      name: 'websocket_connections',
      help: 'Open WebSocket connections on this instance',
      registers: [registry],
    }),
  }
}
