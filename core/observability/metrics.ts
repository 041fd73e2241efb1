/** Prometheus metrics (prom-client): requests by route and status, latency, slot gauges. */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client'

export interface HttpMetrics {
  registry: Registry
  requests: Counter<'method' | 'route' | 'status'>
  latency: Histogram<'method' | 'route'>
  rateLimited: Counter<'group'>
  /** Open WebSocket connections on this instance. */
  sockets: Gauge
}

export function createMetrics(): HttpMetrics {
  const registry = new Registry()
  collectDefaultMetrics({ register: registry })
  return {
    registry,
    requests: new Counter({
      name: 'http_requests_total',
      help: 'HTTP requests by method, route pattern and status',
      labelNames: ['method', 'route', 'status'],
      registers: [registry],
    }),
    latency: new Histogram({
      name: 'http_request_duration_seconds',
      help: 'HTTP request latency by method and route pattern',
      labelNames: ['method', 'route'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
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
