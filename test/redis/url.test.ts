/** Redis URLs: single servers pass through to ioredis; Sentinel and Cluster URLs are taken apart. */
import { describe, expect, test } from 'bun:test'
import { parseRedisUrl, redactRedisUrl } from '../../core/redis/url.ts'

describe('redis URLs', () => {
  test('redis:// and rediss:// go to ioredis as they are', () => {
    expect(parseRedisUrl('redis://:pw@127.0.0.1:6379/2')).toEqual({ kind: 'single', url: 'redis://:pw@127.0.0.1:6379/2' })
    expect(parseRedisUrl('rediss://cache.internal')).toEqual({ kind: 'single', url: 'rediss://cache.internal' })
  })

  test('redis-sentinel://: sentinels, master name, database, passwords, TLS', () => {
    expect(parseRedisUrl('redis-sentinel://app:s%40cret@10.0.0.1:26379,10.0.0.2/mymaster/3?sentinelPassword=sp&tls=true')).toEqual({
      kind: 'sentinel',
      sentinels: [
        { host: '10.0.0.1', port: 26379 },
        { host: '10.0.0.2', port: 26379 },
      ],
      name: 'mymaster',
      db: 3,
      username: 'app',
      password: 's@cret',
      sentinelUsername: undefined,
      sentinelPassword: 'sp',
      tls: true,
    })
  })

  test('redis-cluster://: seed nodes (default port 6379), password, IPv6', () => {
    expect(parseRedisUrl('redis-cluster://:pw@a.example:7000,b.example,[::1]:7002')).toEqual({
      kind: 'cluster',
      nodes: [
        { host: 'a.example', port: 7000 },
        { host: 'b.example', port: 6379 },
        { host: '::1', port: 7002 },
      ],
      username: undefined,
      password: 'pw',
      tls: false,
    })
  })

  test('malformed URLs are coded config errors that never print the password', () => {
    for (const [url, hint] of [
      ['redis-sentinel://:hunter2@h:26379', 'master group'],
      ['redis-cluster://:hunter2@h:7000/1', 'no path'],
      ['redis-cluster://:hunter2@h:99999', 'out of range'],
      ['memcached://h', 'expected redis://'],
    ] as const) {
      let err: { code?: string; message: string } | undefined
      try {
        parseRedisUrl(url)
      } catch (e) {
        err = e as typeof err
      }
      expect(err?.code).toBe('CONFIG_INVALID')
      expect(err?.message).toContain(hint)
      expect(err?.message).not.toContain('hunter2')
    }
    expect(redactRedisUrl('redis://user:hunter2@h:6379')).toBe('redis://user:***@h:6379')
  })
})
