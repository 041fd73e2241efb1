/** The access line (core/observability/access-log.ts) is the line pino itself would write for the same fields. */
import { expect, test } from 'bun:test'
import { createAccessLog } from '../../core/observability/access-log.ts'
import { createLogger } from '../../core/observability/logger.ts'

function capture(level = 'info') {
  const lines: string[] = []
  const logger = createLogger(level, { write: (s: string) => void lines.push(s) })
  return { logger, lines }
}

const withoutTime = (line: string) => line.replace(/"time":"[^"]+"/, '"time":"T"')

test('same fields, order, bindings and JSON as logger.info(fields, "request")', () => {
  const { logger, lines } = capture()
  const child = logger.child({ instance: 'a"b' })
  const log = createAccessLog(child)
  const cases = [
    { reqId: 'abc-1:2.3_x', method: 'GET', route: '/v1/conversations/:id', status: 200, ms: 0.4, userId: crypto.randomUUID() },
    { reqId: 'r2', method: 'POST', route: 'unmatched', status: 404, ms: 12 },
    { reqId: 'r3', method: 'M-SEARCH', route: '/odd "route"\\', status: 500, ms: 1234.5 },
  ]
  for (const c of cases) {
    log(c)
    child.info(c, 'request')
  }
  expect(lines).toHaveLength(6)
  for (let i = 0; i < cases.length; i++) {
    expect(withoutTime(lines[2 * i]!)).toBe(withoutTime(lines[2 * i + 1]!))
    const parsed = JSON.parse(lines[2 * i]!)
    expect(parsed).toMatchObject({ ...cases[i], level: 30, msg: 'request', service: 'scale-runtime', instance: 'a"b' })
    expect(new Date(parsed.time).toISOString()).toBe(parsed.time)
  }
})

test('nothing is written while the level is above info', () => {
  const { logger, lines } = capture('warn')
  createAccessLog(logger)({ reqId: 'r', method: 'GET', route: '/x', status: 200, ms: 1 })
  expect(lines).toEqual([])
  logger.level = 'info'
  createAccessLog(logger)({ reqId: 'r', method: 'GET', route: '/x', status: 200, ms: 1 })
  expect(lines).toHaveLength(1)
})
