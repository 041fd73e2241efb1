/**
 * A Redis failure that no plugin handled is an outage to the client, not a bug: the errors
 * ioredis really gives (a command past its timeout, a closed connection, a client that gave
 * up while offline) become 503 UNAVAILABLE with Retry-After; a script's own error stays a 500.
 */
import { expect, test } from 'bun:test'
import { Elysia } from 'elysia'
import { Redis } from 'ioredis'
import { errorHandler } from '../../core/http/errors.ts'
import { createLogger } from '../../core/observability/logger.ts'
import { redisUnavailable } from '../../core/redis/errors.ts'
import { describeWith, REDIS_URL, redisMissing } from '../helpers/services.ts'

const failure = (p: Promise<unknown>) =>
  p.then(
    () => {
      throw new Error('the command was expected to fail')
    },
    (e: unknown) => e,
  )

describeWith('Redis errors as UNAVAILABLE [redis]', await redisMissing(), () => {
  test('a timed-out command, a closed connection and a client that gave up are UNAVAILABLE; a script error is not', async () => {
    const slow = new Redis(REDIS_URL, { commandTimeout: 50, maxRetriesPerRequest: 0 })
    const blocked = await failure(slow.blpop(`unavailable-test:${crypto.randomUUID()}`, 2))
    expect((blocked as Error).message).toBe('Command timed out')
    expect(redisUnavailable(blocked)).toMatchObject({ code: 'UNAVAILABLE', status: 503, headers: { 'retry-after': '1' } })

    // (The timed-out BLPOP still holds that connection on the server side.)
    const other = new Redis(REDIS_URL, { maxRetriesPerRequest: 0 })
    const scriptError = await failure(other.eval("return redis.error_reply('ERR not an outage')", 0))
    expect((scriptError as Error).message).toBe('ERR not an outage')
    expect(redisUnavailable(scriptError)).toBeUndefined()
    other.disconnect()
    slow.disconnect()
    const closed = await failure(slow.get('x'))
    expect(redisUnavailable(closed)?.code).toBe('UNAVAILABLE')

    // Nothing listens on port 1: the first attempt fails and the command is given up at once.
    const nowhere = new Redis({ host: '127.0.0.1', port: 1, maxRetriesPerRequest: 0, retryStrategy: () => null })
    nowhere.on('error', () => {})
    const gaveUp = await failure(nowhere.get('x'))
    expect(redisUnavailable(gaveUp)?.code).toBe('UNAVAILABLE')
    nowhere.disconnect()
    expect(redisUnavailable(new Error('something else'))).toBeUndefined()
  })

  test('over HTTP: 503 in the API error shape with Retry-After, and no stack', async () => {
    const redis = new Redis(REDIS_URL, { commandTimeout: 50, maxRetriesPerRequest: 0 })
    const app = new Elysia()
      .use(errorHandler(createLogger('silent')))
      .get('/slow', async () => redis.blpop(`unavailable-test:${crypto.randomUUID()}`, 2))
    const res = await app.handle(new Request('http://localhost/slow'))
    expect(res.status).toBe(503)
    expect(res.headers.get('retry-after')).toBe('1')
    const body = (await res.json()) as { error: { code: string; message: string } }
    expect(body.error.code).toBe('UNAVAILABLE')
    expect(body.error.message).toContain('Redis did not answer')
    expect(body.error.message).not.toContain('    at ')
    redis.disconnect()
  })
})
