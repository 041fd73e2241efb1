/** Small network helpers for tests: a free TCP port on 127.0.0.1. */
import { createServer } from 'node:net'

/** A TCP port that was free a moment ago (the OS picks it; the socket is closed again). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer()
    srv.once('error', reject)
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number }
      srv.close(() => resolve(port))
    })
  })
}
