/** The users and conversations a bench stack loads: registered and created through the API, as a client would. */
import type { Context } from './types.ts'

export const CONVERSATIONS = 20
const PASSWORD = 'bench password, long enough'

/** Register a user through the API and return its bearer header; the user id goes into the context. */
export async function register(base: string, ctx: Context): Promise<{ headers: Record<string, string>; token: string }> {
  const res = await fetch(`${base}/v1/auth/register`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email: `bench-${crypto.randomUUID().slice(0, 8)}@example.com`, password: PASSWORD }),
  })
  const body = (await res.json()) as { token?: string; user?: { id: string } }
  if (res.status !== 201 || !body.token) throw new Error(`register at ${base} answered ${res.status}: ${JSON.stringify(body)}`)
  ctx.userId = body.user!.id
  return { headers: { authorization: `Bearer ${body.token}` }, token: body.token }
}

/** Register a user and create its conversations; returns (and keeps in the context) its bearer header. */
export async function seedConversations(base: string, ctx: Context): Promise<Record<string, string>> {
  const { headers } = await register(base, ctx)
  for (let i = 0; i < CONVERSATIONS; i++) {
    const res = await fetch(`${base}/v1/conversations`, {
      method: 'POST',
      headers: { ...headers, 'content-type': 'application/json' },
      body: JSON.stringify({ title: `conversation ${i + 1}` }),
    })
    if (res.status !== 201) throw new Error(`creating a conversation answered ${res.status}: ${await res.text()}`)
  }
  ctx.headers = headers
  return headers
}
