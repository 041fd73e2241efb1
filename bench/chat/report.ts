/**
 * The chat scenarios' Markdown: one section per scenario, each with its own date, CPU and
 * versions (they run separately from the HTTP scenarios), fenced by HTML comments so that
 * RESULTS.md keeps them when other scenarios are rerun and replaces only the one rerun.
 */
import { cores, cpuModel, packageVersion, pinning } from '../proc.ts'
import {
  CHAT_SCENARIOS,
  chatErrors,
  type BurstRow,
  type ChatIdleResult,
  type ChatLatencyResult,
  type ChatResult,
  type ChatStreamsResult,
  type RssFigures,
  type Stat,
} from './bench.ts'

export interface ChatMeta {
  date: string
  cpu: string
  cores: number
  pinned: boolean
}

export function chatMeta(): ChatMeta {
  return {
    date: new Date()
      .toISOString()
      .replace('T', ' ')
      .replace(/\.\d+Z$/, ' UTC'),
    cpu: cpuModel(),
    cores: cores(),
    pinned: pinning().server !== undefined,
  }
}

const fmt = (n: number | undefined, digits = 0) =>
  n === undefined || !Number.isFinite(n) ? '—' : n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits })
const ms = (n: number | undefined) => fmt(n, n !== undefined && n < 10 ? 2 : 1)
const flag = (n: number | undefined) => (n === undefined ? '—' : n > 0 ? `⚠ ${fmt(n)}` : '0')
const both = (s: Stat) => `${ms(s.p50)} / ${ms(s.p99)}`

const begin = (name: string) => `<!-- bench:${name} -->`
const end = (name: string) => `<!-- /bench:${name} -->`

function header(meta: ChatMeta, r: ChatResult): string[] {
  const db =
    r.o.database === 'postgres'
      ? 'PostgreSQL (a fresh database on the local server, not pinned: it competes with both cores)'
      : 'embedded PGlite in memory (in the server process, so its CPU and RSS are in the figures)'
  const queue =
    r.o.dispatch === 'llm-queue'
      ? ' Replies on llm-queue (`bench/configs/chat-queue.ts`): the api instance enqueues on Redis and relays the events from Redis streams, a worker process (`core/worker.ts`, pinned with the server) runs them; CPU and RSS are the two processes together.'
      : ''
  return [
    `${meta.date}, ${meta.cpu}, ${meta.cores} cores. ${meta.pinned ? 'Server pinned to core 0, load generator (bench/chat/load.ts, its own Bun process) to core 1 (taskset).' : 'Not pinned (fewer than 2 cores or no taskset): server and load generator share the CPU.'}`,
    '',
    `Versions: bun ${process.versions.bun ?? 'missing'}, elysia ${packageVersion('elysia')}. Runtime: \`bun core/main.ts\` with \`bench/configs/chat.ts\`: fake provider at \`fakeTokenDelay: 0\`, \`llm.concurrency\` 1000, \`llm.maxQueued\` 10000, chat limit 10⁹ a minute, access log on, one user. Database: ${db}.${queue}`,
  ]
}

function probe(r: ChatLatencyResult | ChatStreamsResult): string {
  const p = r.probe
  return p
    ? `\`GET /health/live\` sent every 100 ms (one at a time) during the measured phase: ${fmt(p.n)} answered, p50 ${ms(p.p50Ms)} ms, slowest ${ms(p.maxMs)} ms.`
    : ''
}

function checks(r: ChatResult): string {
  const c = r.checks
  const ex = c.errorLogExamples.length ? ` First: \`${c.errorLogExamples[0]}\`` : ''
  return `Server after the run: ${flag(c.jobsLeft)} reply jobs left running or queued (/metrics), ${flag(c.errorLogLines)} error lines in its log.${ex}`
}

function latency(r: ChatLatencyResult, meta: ChatMeta): string {
  const { o } = r
  const lines = [
    ...header(meta, r),
    '',
    `${o.turns} measured turns per transport, ${o.clients} clients per transport each running one turn at a time, every turn in a fresh conversation; ${o.warmupTurns} warm-up turns per transport first (not counted); ${o.rounds} rounds with the transport order reversed every other round. Times are from the client: from writing the \`send\` frame (WebSocket, one socket per client, opened beforehand) or starting the POST with \`Accept: text/event-stream\` (HTTP, keep-alive) to the \`accepted\` frame / the response headers, the first \`delta\` of that job, and its \`done\`. Every reply is checked: seq without gaps, text equal to the fake provider's reply.`,
    '',
    '| transport | turns | → accepted / headers p50 / p99 ms | → first delta p50 ms | → first delta p99 ms | → done p50 ms | → done p99 ms | → done max ms | turns/s | events | server CPU ms/turn | errors |',
    '|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|',
  ]
  for (const x of r.rows) {
    lines.push(
      `| ${x.transport} | ${fmt(x.turns)} | ${both(x.accept)} | ${ms(x.first.p50)} | ${ms(x.first.p99)} | ${ms(x.done.p50)} | ${ms(x.done.p99)} | ${ms(x.done.max)} | ${fmt(x.turnsPerSec)} | ${fmt(x.events)} | ${fmt(x.serverCpuMsPerTurn, 2)} | ${flag(x.errors.count)} |`,
    )
  }
  lines.push(
    '',
    `Server RSS: ${fmt(r.rss.beforeMiB)} MiB before, ${fmt(r.rss.peakMiB)} MiB peak, ${fmt(r.rss.afterMiB)} MiB after. ${probe(r)}`,
    '',
    checks(r),
  )
  for (const x of r.rows)
    if (x.errors.examples.length)
      lines.push('', `${x.transport} errors, first ones: ${x.errors.examples.map((e) => `\`${e}\``).join('; ')}`)
  return lines.join('\n')
}

/** ` (N% of before)`: how far the settled RSS came back to the level before the load. */
function ofBefore(rss: RssFigures): string {
  if (rss.settledMiB === undefined || !rss.beforeMiB) return ''
  return ` (${fmt((rss.settledMiB / rss.beforeMiB) * 100)}% of before)`
}

function streams(r: ChatStreamsResult, meta: ChatMeta): string {
  const x = r.out
  const per = x.streams / x.sockets
  const layout =
    per === 1 ? `${fmt(x.streams)} sockets, one stream each` : `${fmt(x.sockets)} sockets × ${fmt(Math.ceil(per))} conversations each`
  const b = r.bursts
  const names = b.map((_, i) => (i === 0 ? 'burst 1 (fresh process)' : `burst ${i + 1}`))
  const row = (label: string, f: (x: BurstRow) => string) => `| ${label} | ${b.map(f).join(' | ')} |`
  const lines = [
    ...header(meta, r),
    '',
    `${fmt(x.streams)} replies at once: ${layout}, each stream in a fresh conversation. The sockets are opened first (50 at a time; all ${fmt(x.sockets)} open in ${ms(x.openMs)} ms), then every \`send\` frame is written at once; a burst ends when every reply is \`done\` (deadline 120 s). ${b.length > 1 ? `Then ${b.length - 1 === 1 ? 'a second burst' : `${b.length - 1} more bursts`} of ${fmt(x.streams)} on the same sockets, 1 s later: the first burst meets a freshly started process (its code not yet compiled by the JIT), the next a warm one.` : ''} Every reply is checked: seq without gaps, text equal to the fake provider's reply to that stream's message.`,
    '',
    `| | ${names.join(' | ')} |`,
    `|---|${b.map(() => '--:').join('|')}|`,
    row('first `send` → last `done` (time to all done), ms', (y) => ms(y.runMs)),
    row('replies done and correct', (y) => `${fmt(y.completed)} of ${fmt(x.streams)}`),
    row('events delivered (delta + done)', (y) => fmt(y.events)),
    row('events/s, mean over the burst', (y) => fmt(y.eventsPerSec)),
    row('events/s, busiest whole second', (y) => fmt(y.peakEventsPerSec)),
    row('→ accepted p50 / p99 ms', (y) => both(y.accept)),
    row('→ first delta p50 / p99 ms', (y) => both(y.first)),
    row('→ done p50 / p99 ms', (y) => both(y.done)),
    row('server CPU during the burst, s', (y) => fmt(y.serverCpuS, 2)),
    row('server RSS at the end of the burst, MiB', (y) => fmt(y.rssMiB)),
    row('errors (error frames, failed, late or wrong replies)', (y) => flag(y.errors.count)),
    '',
    `Events per second, burst by burst: ${b.map((y, i) => `${i + 1}: ${y.perSecond.map((n) => fmt(n)).join(', ') || '—'}`).join('; ')}.`,
    '',
    `Server RSS: ${fmt(r.rss.beforeMiB)} MiB before (after start-up and the conversations were made, no socket open), ${fmt(r.rss.peakMiB)} MiB peak (sampled every 50 ms from opening the sockets to the last \`done\`), ${fmt(r.rss.afterMiB)} MiB at the end of the last burst (its sockets still open), ${fmt(r.rss.settledMiB)} MiB${ofBefore(r.rss)} once the load process had closed its sockets and exited and the server had sat idle 10 s (the median of 9 readings over 2 s; no collection forced, the server offers no way to ask for one). ${probe(r)} Unexpected closes: ${flag(x.unexpectedCloses)}; frames matched to no stream: ${flag(x.errors.count)}.`,
    '',
    checks(r),
  ]
  const examples = [...x.errors.examples, ...b.flatMap((y) => y.errors.examples)].slice(0, 5)
  if (examples.length) lines.push('', `Errors, first ones: ${examples.map((e) => `\`${e}\``).join('; ')}`)
  return lines.join('\n')
}

function idle(r: ChatIdleResult, meta: ChatMeta): string {
  const x = r.out
  const grown = x.rssOpenMiB !== undefined && x.rssBeforeMiB !== undefined ? x.rssOpenMiB - x.rssBeforeMiB : undefined
  const perSocketKiB = grown !== undefined && x.opened > 0 ? (grown * 1024) / x.opened : undefined
  return [
    ...header(meta, r),
    '',
    `${fmt(r.o.idleSockets)} WebSockets authenticated with one user's token (\`?token=\`) and held open on one instance, spread over ${fmt(x.processes)} client processes of up to ${fmt(r.o.idlePerProcess)} each (every process has its own descriptor limit), 100 opening at once per process. The server's RSS is the median of 9 readings over 2 s after 3 s of quiet, before any socket opens and once all are open; then every socket sends a \`ping\` frame and waits for its \`pong\` (60 s at most per phase).`,
    '',
    '| sockets open | failed to open | time to open all, ms | server RSS idle, MiB | with the sockets open, MiB | per socket, KiB | pings answered | ping → pong p50 / p99 / max ms | unexpected closes |',
    '|--:|--:|--:|--:|--:|--:|--:|--:|--:|',
    `| ${fmt(x.opened)} | ${flag(x.failed)} | ${ms(x.openMs)} | ${fmt(x.rssBeforeMiB)} | ${fmt(x.rssOpenMiB)} | ${fmt(perSocketKiB, 1)} | ${fmt(x.answered)} of ${fmt(x.pinged)} | ${both(r.ping)} / ${ms(r.ping.max)} | ${flag(x.unexpectedCloses)} |`,
    '',
    `Server after the run: ${flag(r.checks.errorLogLines)} error lines in its log.`,
  ].join('\n')
}

/** The sections the chat scenarios write: one per scenario and database. */
export const CHAT_SECTIONS = CHAT_SCENARIOS.flatMap((s) =>
  ['', '-postgres'].flatMap((db) => [`${s.name}${db}`, `${s.name}${db}-llm-queue`]),
)

/** One fenced section per result; a run on PostgreSQL has its own (`<name>-postgres`), so both can stand side by side. */
export function renderChat(results: ChatResult[], meta: ChatMeta): { name: string; text: string }[] {
  return results.map((r) => {
    const pg = r.o.database === 'postgres'
    const queue = r.o.dispatch === 'llm-queue'
    const name = `${r.name}${pg ? '-postgres' : ''}${queue ? '-llm-queue' : ''}`
    const body = r.name === 'chat-latency' ? latency(r, meta) : r.name === 'chat-streams' ? streams(r, meta) : idle(r, meta)
    const warn = chatErrors(r) > 0 ? '\n\n**⚠ This run had errors: its numbers are not comparable.**' : ''
    return { name, text: `${begin(name)}\n## ${r.title}${pg ? ', on PostgreSQL' : ''}${queue ? ', replies on llm-queue' : ''}\n\n${body}${warn}\n${end(name)}` }
  })
}

const fenced = (name: string) => new RegExp(`${begin(name)}[\\s\\S]*?${end(name)}`)

/** `existing` with each section replaced in place, or appended when it is not there yet. */
export function mergeSections(existing: string, sections: { name: string; text: string }[]): string {
  let out = existing
  for (const s of sections) {
    if (fenced(s.name).test(out)) out = out.replace(fenced(s.name), () => s.text)
    else out = `${out.trimEnd()}\n\n${s.text}\n`
  }
  return out
}

/** The names of the fenced sections in `text` (chat results, and hand-written ones such as a before/after table). */
export const fencedNames = (text: string): string[] => [...text.matchAll(/<!-- bench:([\w-]+) -->/g)].map((m) => m[1]!)

/** A fresh report of other scenarios, with the chat sections `existing` had carried over. */
export function keepSections(report: string, existing: string, names: readonly string[]): string {
  const kept = names.flatMap((n) => {
    const m = fenced(n).exec(existing)
    return m && !fenced(n).test(report) ? [{ name: n, text: m[0] }] : []
  })
  return kept.length ? mergeSections(report, kept) : report
}
