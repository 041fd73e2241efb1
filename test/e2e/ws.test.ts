/** The WebSocket suite on Bun, in process, on a real port. */
import { startRuntime } from '../helpers/runtime.ts'
import config from './fixtures/e2e.ts'
import { wsSuite } from './ws-suite.ts'

wsSuite('bun', async () => {
  const rt = await startRuntime(config)
  const { port } = await rt.listen()
  return { base: `http://127.0.0.1:${port}`, stop: () => rt.stop() }
})
