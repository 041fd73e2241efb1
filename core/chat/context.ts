/**
 * The context a reply is generated from: the session slot's conversation buffer (recent
 * turns plus a running summary of older ones), filled from the database when it is empty.
 *
 * The summary is extractive on purpose (the start of each turn that falls out of the
 * buffer, bounded in length): it costs no LLM call on the hot path and never invents.
 */
import type { ConversationBuffer, SessionStore, Turn } from '../ports/session.ts'

const SUMMARY_LINE_CHARS = 160
const SUMMARY_MAX_CHARS = 2000

export interface ReplyContext {
  messages: Turn[]
  system?: string
}

/**
 * Add `turn` to the conversation's buffer and return what the provider should see. `buffer`
 * is the buffer as it was before `turn` was stored; when it is cold (new conversation,
 * restart, expiry), it is rebuilt from `earlier`, the stored messages before `turn`, which the
 * statement that stored `turn` returned.
 */
export async function contextFor(
  session: SessionStore,
  conversationId: string,
  buffer: ConversationBuffer | null,
  turn: Turn,
  earlier: Turn[],
  maxTurns: number,
  baseSystem?: string,
): Promise<ReplyContext> {
  if (!buffer || buffer.turns.length === 0) {
    const turns = [...earlier, turn].slice(-maxTurns)
    await session.appendTurns(conversationId, turns, maxTurns)
    buffer = { turns, summary: buffer?.summary }
  } else {
    const overflow = buffer.turns.length + 1 - maxTurns
    if (overflow > 0) {
      const summary = summarize(buffer.summary, buffer.turns.slice(0, overflow))
      await session.setSummary(conversationId, summary)
      buffer = { turns: buffer.turns.slice(overflow), summary }
    }
    await session.appendTurns(conversationId, [turn], maxTurns)
    buffer = { ...buffer, turns: [...buffer.turns, turn] }
  }
  const system = [baseSystem, buffer.summary && `Earlier in this conversation:\n${buffer.summary}`].filter(Boolean).join('\n\n')
  return { messages: alternate(buffer.turns), system: system || undefined }
}

/** Fold turns into the running summary, keeping its most recent part within bounds. */
export function summarize(previous: string | undefined, dropped: Turn[]): string {
  const lines = dropped.map((t) => `${t.role}: ${t.content.replace(/\s+/g, ' ').slice(0, SUMMARY_LINE_CHARS)}`)
  const all = [previous, ...lines].filter(Boolean).join('\n')
  return all.length > SUMMARY_MAX_CHARS ? all.slice(all.length - SUMMARY_MAX_CHARS) : all
}

/**
 * Providers want turns that alternate and start with the user: drop leading assistant turns
 * and join consecutive turns of one role (a reply that failed leaves two user turns in a row).
 */
export function alternate(turns: Turn[]): Turn[] {
  const out: Turn[] = []
  for (const t of turns) {
    if (out.length === 0 && t.role === 'assistant') continue
    const last = out.at(-1)
    if (last && last.role === t.role) last.content = `${last.content}\n\n${t.content}`
    else out.push({ ...t })
  }
  return out
}
