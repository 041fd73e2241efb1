/** The most client connections a PostgreSQL server had open while `run` ran (sampled every 25 ms, the sampler's own included). */
import postgres from 'postgres'

export async function peakConnections<T>(url: string, run: () => Promise<T>, where = 'true'): Promise<{ peak: number; result: T }> {
  const monitor = postgres(url, { max: 1, onnotice: () => {} })
  let peak = 0
  let sampling = true
  const sampler = (async () => {
    while (sampling) {
      const [row] = await monitor.unsafe<{ n: number }[]>(
        `select count(*)::int as n from pg_stat_activity where backend_type = 'client backend' and (${where})`,
      )
      peak = Math.max(peak, row!.n)
      await Bun.sleep(25)
    }
  })()
  try {
    const result = await run()
    return { result, peak: await stop() }
  } finally {
    await stop()
  }

  async function stop() {
    sampling = false
    await sampler
    await monitor.end({ timeout: 1 })
    return peak
  }
}
