/**
 * `npm run cluster`: a whole deployment on this machine (nginx, N api instances, M workers, a
 * private Redis, a private PostgreSQL primary and streaming replica), for development and
 * tests. Prints `cluster ready at http://127.0.0.1:<port>` once every part answers its health
 * check; Ctrl-C or SIGTERM stops it all.
 *
 *   npm run cluster -- [--port 8080] [--api 3] [--workers 2] [--no-replica] [--keep]
 */
import { parseArgs } from 'node:util'
import { startCluster, type Cluster } from './local/cluster.ts'
import type { Member } from './local/member.ts'

const { values } = parseArgs({
  options: {
    port: { type: 'string', default: '0' },
    api: { type: 'string', default: '3' },
    workers: { type: 'string', default: '2' },
    'no-replica': { type: 'boolean', default: false },
    keep: { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  },
})

if (values.help) {
  console.log('usage: npm run cluster -- [--port N] [--api N] [--workers N] [--no-replica] [--keep]')
  process.exit(0)
}

const count = (name: string, v: string, min: number) => {
  const n = Number(v)
  if (!Number.isInteger(n) || n < min) {
    console.error(`--${name} must be a whole number of at least ${min}, got ${JSON.stringify(v)}`)
    process.exit(2)
  }
  return n
}

const stamp = () => new Date().toISOString().slice(11, 19)
const onState = (m: Member, detail?: string) =>
  console.log(`${stamp()} ${m.name.padEnd(9)} ${m.state}${detail ? ` (${detail})` : ''}  port ${m.port}  pid ${m.pid() ?? '-'}`)

let cluster: Cluster | undefined
let stopping = false
async function stop(signal: string) {
  if (stopping) return
  stopping = true
  console.log(`${stamp()} ${signal}: stopping the cluster (api instances and workers drain first)`)
  await cluster?.stop()
  console.log(`${stamp()} stopped${values.keep && cluster ? `; data kept in ${cluster.dir}` : ''}`)
  process.exit(0)
}
process.on('SIGINT', () => void stop('SIGINT'))
process.on('SIGTERM', () => void stop('SIGTERM'))

try {
  cluster = await startCluster({
    port: count('port', values.port!, 0),
    api: count('api', values.api!, 1),
    workers: count('workers', values.workers!, 0),
    replica: !values['no-replica'],
    keep: values.keep,
    onState,
  })
  console.log(`${stamp()} redis    ${cluster.redis.url}`)
  console.log(`${stamp()} postgres ${cluster.primary.url}${cluster.replica ? `, replica ${cluster.replica.url}` : ''}`)
  console.log(`${stamp()} logs     ${cluster.dir}`)
  console.log(`cluster ready at ${cluster.url}`)
} catch (e) {
  console.error(`the cluster did not start: ${(e as Error).message}`)
  process.exit(1)
}
