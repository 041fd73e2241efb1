import { expect, test } from 'bun:test'
import { parseFrame } from '../../core/chat/frames.ts'

test("a frame type naming one of Object's members is an unknown type, not a crash", () => {
  for (const type of ['__proto__', 'constructor', 'toString', 'valueOf', 'hasOwnProperty']) {
    const out = parseFrame(`{"type":${JSON.stringify(type)}}`)
    expect(out).toMatchObject({ type: 'error', code: 'VALIDATION_FAILED' })
    expect((out as { message: string }).message).toContain('unknown frame type')
  }
})

test('frames Elysia already parsed are checked for depth and NUL like raw ones', () => {
  let deep: unknown = 'x'
  for (let i = 0; i < 5000; i++) deep = [deep]
  expect(parseFrame({ type: deep })).toMatchObject({ type: 'error', code: 'VALIDATION_FAILED' })
  expect(parseFrame({ type: 'send', conversationId: crypto.randomUUID(), content: 'a\u0000b' })).toMatchObject({ type: 'error' })
  expect(parseFrame(`{"type":${'['.repeat(5000)}${']'.repeat(5000)}}`)).toMatchObject({ type: 'error', code: 'VALIDATION_FAILED' })
  expect(parseFrame({ type: 'ping' })).toEqual({ type: 'ping' })
})
