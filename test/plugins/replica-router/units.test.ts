/** replica-router pieces without a server: LSN parsing, the lag clock, error triage, options, write marks. */
import { describe, expect, test } from 'bun:test'
import { resolveConfig } from '../../../core/config/load.ts'
import { createMemorySessionStore } from '../../../core/defaults/memory-session.ts'
import { LagClock, parseLsn } from '../../../plugins/replica-router/lsn.ts'
import { createWriteMarks } from '../../../plugins/replica-router/marks.ts'
import { resolveOptions } from '../../../plugins/replica-router/options.ts'
import { ScaleError } from '../../../core/errors.ts'
import { replicaTrouble } from '../../../plugins/replica-router/replica.ts'

const config = resolveConfig({ database: { dataDir: 'memory://' } }, {})
const URL = 'postgres://app:secret@replica-1:5433/app'

describe('parseLsn', () => {
  test('reads X/Y as one 64-bit position and refuses what is not one', () => {
    expect(parseLsn('0/16B3748')).toBe(0x16b3748)
    expect(parseLsn('16/B374D848')).toBe(0x16 * 2 ** 32 + 0xb374d848)
    expect(parseLsn('1/0')! > parseLsn('0/FFFFFFFF')!).toBe(true)
    for (const bad of [null, undefined, '', '16', '/1', 'x/y']) expect(parseLsn(bad)).toBeUndefined()
  })
})

describe('LagClock', () => {
  test('a replica at or past the primary is 0 s behind, however old its last transaction', () => {
    const c = new LagClock(10_000)
    c.record(100, 1000)
    expect(c.lagSeconds(100, 60_000, 0)).toBe(0)
    expect(c.lagSeconds(150, 60_000)).toBe(0)
  })
  test('behind: the time since the primary was first seen past its position', () => {
    const c = new LagClock(10_000)
    c.record(100, 1000)
    c.record(200, 2000)
    c.record(300, 3000)
    expect(c.lagSeconds(250, 3500)).toBe(0.5)
    expect(c.lagSeconds(150, 3500)).toBe(1.5)
  })
  test('behind every sample kept: at least the window, or the replay timestamp when older', () => {
    const c = new LagClock(1000)
    for (let t = 0; t <= 5000; t += 100) c.record(t + 1000, t)
    expect(c.lagSeconds(0, 5000)).toBeGreaterThanOrEqual(1)
    expect(c.lagSeconds(0, 5000, -60_000)).toBe(65)
  })
})

describe('replicaTrouble', () => {
  const pgError = (code: string) => Object.assign(new Error(code), { name: 'PostgresError', code })
  test('network errors and server shutdown take the replica out; recovery conflicts only retry; client mistakes pass', () => {
    expect(replicaTrouble(Object.assign(new Error('refused'), { code: 'ECONNREFUSED' }))).toBe('down')
    expect(replicaTrouble(Object.assign(new Error('closed'), { code: 'CONNECTION_CLOSED' }))).toBe('down')
    expect(replicaTrouble(pgError('57P01'))).toBe('down') // admin_shutdown
    expect(replicaTrouble(pgError('57P03'))).toBe('down') // cannot_connect_now (starting up)
    expect(replicaTrouble(pgError('40001'))).toBe('query') // conflict with recovery
    expect(replicaTrouble(pgError('22P02'))).toBeUndefined() // invalid input: the primary says the same
    expect(replicaTrouble(pgError('42P01'))).toBeUndefined()
  })

  test("no place in the replica's pool within the acquire timeout: the primary takes the read, the replica stays in", () => {
    expect(replicaTrouble(new ScaleError('OVERLOADED', 'no database connection free within 5000 ms'))).toBe('query')
  })
})

describe('resolveOptions', () => {
  test('URLs from the option or from DATABASE_REPLICA_URLS; defaults', () => {
    const o = resolveOptions({}, config, { DATABASE_REPLICA_URLS: ` ${URL}, postgresql://r2/app ,` })
    expect(o.urls).toEqual([URL, 'postgresql://r2/app'])
    expect(o).toMatchObject({ lagPollMs: 100, maxLagMs: 1000, maxWaitMs: 0, ttlMs: 5000, poolMax: config.database.pool.max })
    expect(resolveOptions({ urls: [URL] }, config, {}).urls).toEqual([URL])
    expect(resolveOptions({ urls: [URL], maxLag: '10 s' }, config, {}).ttlMs).toBe(20_400)
  })
  test('coded errors that quote the value and say what would do, never the password', () => {
    expect(() => resolveOptions({}, config, {})).toThrow('DATABASE_REPLICA_URLS')
    expect(() => resolveOptions({ urls: ['mysql://u:secret@h/db'] }, config, {})).toThrow('postgres://')
    expect(() => resolveOptions({ urls: ['mysql://u:secret@h/db'] }, config, {})).not.toThrow('secret')
    expect(() => resolveOptions({ urls: [URL], lagPoll: 'often' as never }, config, {})).toThrow('lagPoll is "often"')
    expect(() => resolveOptions({ urls: [URL], maxLag: '2 s', ttl: '1 s' }, config, {})).toThrow('more than maxLag')
    expect(() => resolveOptions({ urls: [URL], poolMax: 0 }, config, {})).toThrow('poolMax')
  })
})

describe('write marks', () => {
  test('kept for the TTL, never lowered, and read back across instances through the session', async () => {
    const session = createMemorySessionStore({ ttlMs: 60_000 })
    const a = createWriteMarks({ ttlMs: 200, session })
    const b = createWriteMarks({ ttlMs: 200, session })
    expect(await b.need('u')).toBe(0)
    await a.record('u', 500)
    await a.record('u', 400) // an older position arriving late does not lower the mark
    expect(await b.need('u')).toBe(500)
    await b.record('u', 450)
    expect(await a.need('u')).toBe(500) // the highest of every instance's field
    await Bun.sleep(250)
    expect(await a.need('u')).toBe(0)
  })
  test('without a session store the mark is in memory and answered synchronously', async () => {
    const m = createWriteMarks({ ttlMs: 1000 })
    m.record('u', 7)
    expect(m.need('u')).toBe(7)
    expect(m.need('v')).toBe(0)
  })
})
