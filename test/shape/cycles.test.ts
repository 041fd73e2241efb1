/** No import cycle in the shipped and project code, type-only imports included (scripts/import-graph.ts). */
import { expect, test } from 'bun:test'
import { CHECKED_DIRS, cycles, importGraph, loopThrough, specifiers } from '../../scripts/import-graph.ts'

test(`no import cycle under ${CHECKED_DIRS.join('/, ')}/`, () => {
  const graph = importGraph()
  expect(graph.size).toBeGreaterThan(100)
  expect(cycles(graph).map((group) => loopThrough(graph, group).join(' -> '))).toEqual([])
})

test('the check reads type imports, re-exports and import() as edges, and finds a loop', () => {
  const text = "import type { A } from './a.ts'\nexport { B } from './b.ts'\nconst c = await import('./c.ts')\n"
  expect(specifiers('x.ts', text)).toEqual(['./a.ts', './b.ts', './c.ts'])
  const graph = new Map([
    ['a.ts', new Set(['b.ts'])],
    ['b.ts', new Set(['c.ts'])],
    ['c.ts', new Set(['a.ts'])],
    ['d.ts', new Set(['a.ts'])],
  ])
  expect(cycles(graph)).toEqual([['a.ts', 'b.ts', 'c.ts']])
  expect(loopThrough(graph, ['a.ts', 'b.ts', 'c.ts'])).toEqual(['a.ts', 'b.ts', 'c.ts', 'a.ts'])
})
