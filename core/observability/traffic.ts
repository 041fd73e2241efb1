/**
 * Recent traffic for the console: samples the request counter and latency histogram that
 * `/metrics` already keeps, every few seconds, into a short ring of points (requests per
 * second, p50 and p99 latency over each interval). Nothing is added to the request path.
 */
import type { HttpMetrics } from './metrics.ts'

export interface TrafficPoint {
  /** Epoch ms at the end of the interval. */
  at: number
  /** Requests per second over the interval. */
  rps: number
  /** Latency percentiles over the interval, in ms (null when no request finished in it). */
  p50: number | null
  p99: number | null
}

export interface TrafficOptions {
  /** @default 5000 */
  intervalMs?: number
  /** Points kept. @default 60 (five minutes at the default interval) */
  points?: number
}

interface Snapshot {
  at: number
  count: number
  /** Cumulative counts per bucket upper bound (seconds), summed over routes. */
  buckets: Map<number, number>
}

export interface Traffic {
  /** Requests counted since start and refusals by route group, read now. */
  totals(): Promise<{ requests: number; rateLimited: Record<string, number> }>
  series(): TrafficPoint[]
  /** Take a sample now (the timer also does). */
  sample(): Promise<void>
  stop(): void
}

/**
 * @example
 * const traffic = createTraffic(metrics, { intervalMs: 5000 })
 * traffic.series() // [{ at, rps, p50, p99 }, ...]
 */
export function createTraffic(metrics: HttpMetrics, opts: TrafficOptions = {}): Traffic {
  const intervalMs = opts.intervalMs ?? 5000
  const max = opts.points ?? 60
  const points: TrafficPoint[] = []
  let last: Snapshot | undefined

  async function snapshot(): Promise<Snapshot> {
    const { values } = await metrics.latency.get()
    const buckets = new Map<number, number>()
    let count = 0
    for (const v of values) {
      if (v.metricName?.endsWith('_count')) count += v.value
      else if (v.metricName?.endsWith('_bucket')) {
        const bound = (v.labels as { le?: string | number }).le
        const le = bound === '+Inf' ? Infinity : Number(bound)
        buckets.set(le, (buckets.get(le) ?? 0) + v.value)
      }
    }
    return { at: Date.now(), count, buckets }
  }

  async function sample() {
    const now = await snapshot()
    if (last) {
      const n = now.count - last.count
      const seconds = Math.max(0.001, (now.at - last.at) / 1000)
      const delta = [...now.buckets].map(([le, c]) => [le, c - (last!.buckets.get(le) ?? 0)] as const).sort((a, b) => a[0] - b[0])
      points.push({ at: now.at, rps: round(n / seconds), p50: quantile(delta, n, 0.5), p99: quantile(delta, n, 0.99) })
      if (points.length > max) points.splice(0, points.length - max)
    }
    last = now
  }

  const timer = setInterval(() => void sample().catch(() => {}), intervalMs)
  timer.unref?.()
  void sample().catch(() => {})

  return {
    async totals() {
      const [req, limited] = await Promise.all([metrics.requests.get(), metrics.rateLimited.get()])
      const rateLimited: Record<string, number> = {}
      for (const v of limited.values) rateLimited[String(v.labels.group)] = (rateLimited[String(v.labels.group)] ?? 0) + v.value
      return { requests: req.values.reduce((n, v) => n + v.value, 0), rateLimited }
    },
    series: () => [...points],
    sample,
    stop: () => clearInterval(timer),
  }
}

/** The q-quantile from cumulative bucket counts, interpolated inside its bucket (as Prometheus does). */
function quantile(buckets: (readonly [number, number])[], total: number, q: number): number | null {
  if (total <= 0) return null
  const rank = q * total
  let prevLe = 0
  let prevCount = 0
  for (const [le, count] of buckets) {
    if (count >= rank) {
      // Past the last finite bound there is nothing to interpolate towards: report that bound.
      if (le === Infinity) return round(prevLe * 1000)
      const inBucket = count - prevCount
      const frac = inBucket > 0 ? (rank - prevCount) / inBucket : 1
      return round((prevLe + (le - prevLe) * frac) * 1000)
    }
    prevLe = le
    prevCount = count
  }
  return round(prevLe * 1000)
}

const round = (n: number) => Math.round(n * 100) / 100
