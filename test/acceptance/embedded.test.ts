/** The acceptance suite against one embedded instance: `npm start`'s own entry, PGlite in memory, in-memory slots. */
import { afterAll, beforeAll } from 'bun:test'
import { API_READY, spawnUntil, type Proc } from '../helpers/remote.ts'
import { HOOK_TIMEOUT } from '../helpers/runtime.ts'
import { acceptanceSuite } from './suite.ts'

let api: Proc
beforeAll(async () => {
  api = await spawnUntil('core/main.ts', { PORT: '0', DATA_DIR: 'memory://', JWT_SECRET: 'x'.repeat(48), LOG_LEVEL: 'info' }, API_READY)
}, HOOK_TIMEOUT)
afterAll(async () => {
  api?.proc.kill('SIGTERM')
  await api?.proc.exited
}, HOOK_TIMEOUT)

acceptanceSuite('one embedded instance', () => ({ url: api.base }))
