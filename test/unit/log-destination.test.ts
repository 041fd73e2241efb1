/** The default log destination (core/observability/log-destination.ts): non-blocking, and nothing lost on a clean stop. */
import { afterAll, expect, test } from 'bun:test'
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { createLogDestination } from '../../core/observability/log-destination.ts'

const dir = mkdtempSync(join(tmpdir(), 'scale-logdest-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

test('lines written over many event-loop turns all arrive, in order, once flush resolves', async () => {
  const file = join(dir, 'flush.log')
  const fd = openSync(file, 'w')
  const dest = createLogDestination({ fd })
  for (let turn = 0; turn < 200; turn++) {
    for (let i = 0; i < 50; i++) dest.write(`{"n":${turn * 50 + i}}\n`)
    await new Promise((r) => setImmediate(r))
  }
  // Nothing is written on the caller's turn: the write goes out after it.
  dest.write('{"n":10000}\n')
  await new Promise<void>((r) => dest.flush(() => r()))
  closeSync(fd)
  const lines = readFileSync(file, 'utf8').trimEnd().split('\n')
  expect(lines.length).toBe(10_001)
  expect(lines.every((l, i) => JSON.parse(l).n === i)).toBe(true)
})

test('a process that exits right after logging loses no line (the exit hook writes what is queued)', async () => {
  const file = join(dir, 'exit.log')
  const script = `
    import { createLogger } from ${JSON.stringify(resolve(import.meta.dir, '../../core/observability/logger.ts'))}
    const logger = createLogger('info')
    for (let i = 0; i < 5000; i++) logger.info({ n: i }, 'line')
    process.exit(0)
  `
  const proc = Bun.spawn([process.execPath, '-e', script], { stdout: Bun.file(file), stderr: 'inherit' })
  expect(await proc.exited).toBe(0)
  const lines = readFileSync(file, 'utf8').trimEnd().split('\n')
  expect(lines.length).toBe(5000)
  expect(JSON.parse(lines[4999]!).n).toBe(4999)
})
