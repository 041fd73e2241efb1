/** The core's Redis: opened only when a plugin requires it, handed over in ctx, closed after the plugins stop. */
import { expect, test } from 'bun:test'
import type { PluginContext, ScalePlugin } from '../../core/plugins/contract.ts'
import { client, startRuntime } from '../helpers/runtime.ts'
import { describeWith, REDIS_URL, redisMissing } from '../helpers/services.ts'
import { connectRedis, dropKeys, uniquePrefix } from './redis.ts'

const prefix = uniquePrefix('core')

/** A plugin that keeps its ctx and, on stop, still writes through the shared connection. */
function probe(requiresRedis: boolean) {
  const seen: { ctx?: PluginContext; stopWrote?: string } = {}
  const plugin: ScalePlugin = {
    manifest: { name: 'redis-probe', core: '^0.1.0', requires: { services: requiresRedis ? ['redis'] : [] } },
    setup(ctx) {
      seen.ctx = ctx
      return {}
    },
    async stop() {
      if (!seen.ctx?.redis) return
      seen.stopWrote = await seen.ctx.redis.set(`${prefix}stopped`, '1', 'PX', 60_000)
    },
  }
  return { plugin, seen }
}

test('without a plugin that requires Redis, nothing is opened and ready has no redis check', async () => {
  const { plugin, seen } = probe(false)
  const rt = await startRuntime({ plugins: [plugin], redis: { url: 'redis://127.0.0.1:1' } })
  try {
    expect(seen.ctx?.redis).toBeUndefined()
    expect(seen.ctx?.redisSubscriber).toBeUndefined()
    const ready = await client(() => rt).get('/health/ready')
    expect(ready.body.checks.redis).toBeUndefined()
  } finally {
    await rt.stop()
  }
})

describeWith('the core opens Redis for plugins [redis]', await redisMissing(), () => {
  test('ctx carries the command, subscriber and dedicated connections; the core closes them after the plugins stop', async () => {
    const { plugin, seen } = probe(true)
    const rt = await startRuntime({ plugins: [plugin], redis: { url: REDIS_URL, keyPrefix: prefix } })
    const ctx = seen.ctx!
    let closed = false
    try {
      expect(await ctx.redis!.ping()).toBe('PONG')
      const sub = ctx.redisSubscriber!()
      expect(ctx.redisSubscriber!()).toBe(sub)
      const dedicated = ctx.redisConnection!('queue', { maxRetriesPerRequest: null })
      expect(() => ctx.redisConnection!('queue')).toThrow('already open')
      expect(await dedicated.ping()).toBe('PONG')

      // The subscriber gets what the command connection publishes.
      const got = new Promise<string>((resolve) => sub.on('message', (_channel: string, message: string) => resolve(message)))
      await sub.subscribe(`${prefix}channel`)
      await ctx.redis!.publish(`${prefix}channel`, 'hello')
      expect(await got).toBe('hello')

      const api = client(() => rt)
      const ready = await api.get('/health/ready')
      expect(ready.body.checks.redis).toBe('ok')
      const metrics = (await api.get('/metrics')).body as string
      for (const c of ['command', 'subscriber', 'dedicated:queue']) expect(metrics).toContain(`redis_connection_up{connection="${c}"} 1`)

      await rt.stop()
      closed = true
      expect(seen.stopWrote).toBe('OK') // the plugin's stop ran while the connection was still open
      for (const c of [ctx.redis!, sub, dedicated]) expect(c.status).toBe('end')
      await rt.stop() // twice is fine
    } finally {
      if (!closed) await rt.stop()
      const admin = await connectRedis()
      await dropKeys(admin, prefix)
      admin.disconnect()
    }
  })
})
