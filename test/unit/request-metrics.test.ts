/** The request metrics (core/observability/request-metrics.ts) print what prom-client's own Counter and Histogram print for the same requests. */
import { expect, test } from 'bun:test'
import { Counter, Histogram, Registry } from 'prom-client'
import { createRequestMetrics, LATENCY_BUCKETS } from '../../core/observability/request-metrics.ts'

test('/metrics text is the same as prom-client Counter + Histogram fed the same requests', async () => {
  const ours = new Registry()
  const metrics = createRequestMetrics(ours)
  const theirs = new Registry()
  const counter = new Counter({
    name: 'http_requests_total',
    help: 'HTTP requests by method, route pattern and status',
    labelNames: ['method', 'route', 'status'],
    registers: [theirs],
  })
  const histogram = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'HTTP request latency by method and route pattern',
    labelNames: ['method', 'route'],
    buckets: LATENCY_BUCKETS,
    registers: [theirs],
  })
  const requests: [string, string, number, number][] = [
    ['GET', '/v1/me', 200, 0.0004],
    ['GET', '/v1/me', 200, 0.001], // on a bound: counted in that bucket
    ['GET', '/v1/me', 429, 0.003],
    ['POST', '/v1/me', 201, 0.3],
    ['GET', '/v1/conversations/:id', 404, 12], // above the last bound: +Inf only
    ['GET', 'unmatched', 404, 0.02],
  ]
  for (const [method, route, status, seconds] of requests) {
    metrics.record(method, route, status, seconds)
    counter.labels(method, route, String(status)).inc()
    histogram.labels(method, route).observe(seconds)
  }
  expect(await ours.metrics()).toBe(await theirs.metrics())
  // And get() answers in prom-client's shape (the console's traffic charts read it).
  const [a, b] = [await metrics.latency.get(), await histogram.get()]
  expect(a.values.map((v) => [v.metricName, v.value, { ...v.labels }])).toEqual(
    b.values.map((v) => [(v as { metricName?: string }).metricName, v.value, { ...v.labels }]),
  )
})
