/** The budget arithmetic pool-tuner and doctor share. */
import { expect, test } from 'bun:test'
import { budgetOf, shareOf } from '../../../core/db/budget.ts'
import { resolveTunerOptions } from '../../../plugins/pool-tuner/options.ts'
import { resolveConfig } from '../../../core/config/load.ts'

test('the budget is max_connections minus the reserved slots and the headroom, never below 0', () => {
  expect(budgetOf({ maxConnections: 30, reserved: 3 }, 3)).toBe(24)
  expect(budgetOf({ maxConnections: 5, reserved: 3 }, 10)).toBe(0)
})

test('equal shares that sum to at most the budget', () => {
  for (const processes of [1, 2, 3, 5, 7]) {
    const each = shareOf({ budget: 24, processes, othersHold: 0, min: 1, max: 100 })
    expect(each * processes).toBeLessThanOrEqual(24)
    expect(each).toBe(Math.floor(24 / processes))
  }
})

test('a newcomer takes only what the others left free, and grows once they shrink', () => {
  // Two processes hold 12 each of 24; the third gets the floor until they shrink to 8.
  expect(shareOf({ budget: 24, processes: 3, othersHold: 24, min: 1, max: 20 })).toBe(1)
  expect(shareOf({ budget: 24, processes: 3, othersHold: 12 + 1, min: 1, max: 20 })).toBe(8)
  expect(shareOf({ budget: 24, processes: 3, othersHold: 16, min: 1, max: 20 })).toBe(8)
})

test('min and max bound the share; min wins over the budget', () => {
  expect(shareOf({ budget: 100, processes: 1, othersHold: 0, min: 1, max: 20 })).toBe(20)
  expect(shareOf({ budget: 4, processes: 8, othersHold: 0, min: 2, max: 20 })).toBe(2)
})

test('options: max defaults to database.pool.max and may not exceed it; the TTL must outlast the interval', () => {
  const config = resolveConfig({ database: { url: 'postgres://db.internal:5432/app', pool: { max: 12 } } })
  expect(resolveTunerOptions({}, config)).toMatchObject({
    max: 12,
    min: 2,
    headroom: 5,
    intervalMs: 30_000,
    ttlMs: 90_000,
    group: 'db.internal:5432',
  })
  expect(() => resolveTunerOptions({ max: 13 }, config)).toThrow(/at most database.pool.max \(12\)/)
  expect(() => resolveTunerOptions({ interval: '10 s', heartbeatTtl: '5 s' }, config)).toThrow(/heartbeatTtl/)
  expect(() => resolveTunerOptions({ min: 0 }, config)).toThrow(/min/)
})
