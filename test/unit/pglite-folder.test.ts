/** Where the embedded database keeps its files: `memory://` folders are throwaway copies of one template. */
import { afterAll, expect, test } from 'bun:test'
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { openDatabase } from '../../core/db/open.ts'
import { resolveConfig } from '../../core/config/load.ts'

const named = mkdtempSync(join(tmpdir(), 'pglite-named-'))
afterAll(() => rmSync(named, { recursive: true, force: true }))

const database = (dataDir: string) => resolveConfig({ database: { dataDir } }).database

test('memory:// databases are separate folders in the temp folder, removed on close', async () => {
  // A folder left by a process that no longer runs (pid 2^22 + 1 is above Linux's pid_max).
  const stale = join(tmpdir(), `scale-pglite-${2 ** 22 + 1}-stale`)
  mkdirSync(stale, { recursive: true })
  writeFileSync(join(stale, 'PG_VERSION'), '15')

  const a = await openDatabase(database('memory://'))
  const b = await openDatabase(database('memory://'))
  const folder = (d: typeof a) => d.pglite!.dataDir!
  expect(folder(a)).toStartWith(join(tmpdir(), `scale-pglite-${process.pid}-`))
  expect(folder(a)).not.toBe(folder(b))
  await a.pglite!.exec('create table only_in_a (id int)')
  expect((await b.pglite!.query(`select to_regclass('only_in_a') as t`)).rows).toEqual([{ t: null }])
  expect(existsSync(stale)).toBe(false)

  const [pathA, pathB] = [folder(a), folder(b)]
  await a.close()
  await b.close()
  expect(existsSync(pathA)).toBe(false)
  expect(existsSync(pathB)).toBe(false)
})

test('a named folder is initialized once and keeps its data', async () => {
  const dir = join(named, 'data')
  const first = await openDatabase(database(dir))
  await first.pglite!.exec('create table kept (id int); insert into kept values (7)')
  await first.close()
  expect(existsSync(join(dir, 'PG_VERSION'))).toBe(true)
  const again = await openDatabase(database(dir))
  expect((await again.pglite!.query('select id from kept')).rows).toEqual([{ id: 7 }])
  await again.close()
  expect(existsSync(dir)).toBe(true)
})
