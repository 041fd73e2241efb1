/**
 * Keeps the chat bench scripts from rotting: both chat scenarios with a handful of turns and
 * streams, checking they produced numbers and no errors. It measures nothing. Start-up is most
 * of the time, so the runtimes use PostgreSQL when it is there (a few seconds to start; the
 * embedded database takes 10 s or more on a busy machine) and fall back to it otherwise.
 * The RESULTS.md merging is checked too.
 */
import { describe, expect, test } from 'bun:test'
import { chatErrors, runChat, type ChatIdleResult, type ChatLatencyResult, type ChatStreamsResult } from '../../bench/chat/bench.ts'
import { CHAT_SECTIONS, keepSections, mergeSections, renderChat } from '../../bench/chat/report.ts'
import { postgresDown } from '../../bench/postgres.ts'
import { describeWith, redisMissing } from '../helpers/services.ts'
import { Redis } from 'ioredis'

const TIMEOUT = 120_000
const database = (await postgresDown()) ? 'memory' : 'postgres'

describe('chat bench (smoke)', () => {
  test(
    'chat-latency and chat-streams produce numbers and no errors',
    async () => {
      const results = await runChat(['chat-latency', 'chat-streams'], {
        turns: 20,
        clients: 2,
        warmupTurns: 2,
        rounds: 2,
        streams: 20,
        sockets: 10,
        bursts: 2,
        database,
      })
      expect(results.map((r) => r.name)).toEqual(['chat-latency', 'chat-streams'])
      for (const r of results) expect({ scenario: r.name, errors: chatErrors(r) }).toEqual({ scenario: r.name, errors: 0 })

      const latency = results[0] as ChatLatencyResult
      expect(latency.rows.map((x) => x.transport)).toEqual(['WebSocket', 'HTTP SSE'])
      for (const x of latency.rows) {
        expect(x.turns).toBe(20)
        expect(x.first.p50).toBeGreaterThan(0)
        expect(x.done.p99).toBeGreaterThanOrEqual(x.first.p50)
        expect(x.turnsPerSec).toBeGreaterThan(0)
        // Each reply: its deltas and one done.
        expect(x.events).toBeGreaterThan(20 * 2)
      }

      const streams = results[1] as ChatStreamsResult
      expect(streams.out.sockets).toBe(10)
      expect(streams.bursts).toHaveLength(2)
      for (const b of streams.bursts) {
        expect(b.completed).toBe(20)
        expect(b.eventsPerSec).toBeGreaterThan(0)
        expect(b.done.p50).toBeGreaterThan(0)
      }
      expect(streams.rss.peakMiB).toBeGreaterThan(0)
      expect(streams.rss.settledMiB).toBeGreaterThan(0)
      expect(streams.checks.jobsLeft).toBe(0)

      const sections = renderChat(results, { date: 'today', cpu: 'cpu', cores: 2, pinned: true })
      const suffix = database === 'postgres' ? '-postgres' : ''
      expect(sections.map((s) => s.name)).toEqual([`chat-latency${suffix}`, `chat-streams${suffix}`])
      expect(sections[0]!.text).toContain('| WebSocket | 20 |')
      expect(sections[1]!.text).toContain('burst 1 (fresh process)')
    },
    TIMEOUT,
  )

  test(
    'chat-idle holds its sockets over several client processes and every one answers a ping',
    async () => {
      const [r] = (await runChat(['chat-idle'], { idleSockets: 60, idlePerProcess: 25, database })) as [ChatIdleResult]
      expect(r.out.processes).toBe(3)
      expect({ opened: r.out.opened, answered: r.out.answered, errors: chatErrors(r) }).toEqual({ opened: 60, answered: 60, errors: 0 })
      expect(r.out.rssOpenMiB).toBeGreaterThan(0)
      expect(r.ping.p50).toBeGreaterThan(0)
      const [section] = renderChat([r], { date: 'today', cpu: 'cpu', cores: 2, pinned: true })
      expect(section!.text).toContain('| 60 | 0 |')
    },
    TIMEOUT,
  )

  test('RESULTS.md: a chat section is replaced in place, appended when new, and kept when other scenarios are rerun', () => {
    const a = { name: 'chat-latency', text: '<!-- bench:chat-latency -->\n## chat-latency\nold\n<!-- /bench:chat-latency -->' }
    const b = { name: 'chat-streams', text: '<!-- bench:chat-streams -->\n## chat-streams\n<!-- /bench:chat-streams -->' }
    const first = mergeSections('# Benchmark results\n\n## pipeline\n', [a, b])
    expect(first).toBe(`# Benchmark results\n\n## pipeline\n\n${a.text}\n\n${b.text}\n`)
    const again = mergeSections(first, [{ ...a, text: a.text.replace('old', 'new') }])
    expect(again).toBe(first.replace('old', 'new'))
    // A fresh report of the HTTP scenarios keeps both chat sections.
    const rerun = keepSections('# Benchmark results\n\n## health\n', again, CHAT_SECTIONS)
    expect(rerun).toContain('## health')
    expect(rerun).not.toContain('## pipeline')
    expect(rerun).toContain('new')
    expect(rerun).toContain('## chat-streams')
  })
})

describeWith('chat bench on llm-queue (smoke) [redis]', await redisMissing(), () => {
  test(
    'chat-latency with replies on llm-queue (api instance and worker process) has no errors and leaves no keys',
    async () => {
      const [r] = (await runChat(['chat-latency'], { turns: 10, clients: 2, warmupTurns: 1, rounds: 1, database, dispatch: 'llm-queue' })) as [
        ChatLatencyResult,
      ]
      expect({ errors: chatErrors(r), turns: r.rows.map((x) => x.turns) }).toEqual({ errors: 0, turns: [10, 10] })
      for (const x of r.rows) expect(x.serverCpuMsPerTurn).toBeGreaterThan(0)
      const [section] = renderChat([r], { date: 'today', cpu: 'cpu', cores: 2, pinned: true })
      expect(section!.name).toBe(`chat-latency${database === 'postgres' ? '-postgres' : ''}-llm-queue`)
      const redis = new Redis(process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379')
      try {
        expect(await redis.keys('bench:chat:*')).toEqual([])
      } finally {
        redis.disconnect()
      }
    },
    TIMEOUT,
  )
})
