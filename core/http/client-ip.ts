/**
 * The client's address: the socket peer, unless the config declares trusted proxy hops.
 * With N hops, each proxy appended the address it saw to X-Forwarded-For, so the client
 * is the N-th entry from the right; anything left of it is whatever the client sent.
 */
export function clientIp(socketIp: string | undefined, forwardedFor: string | null, trustedHops: number): string {
  const peer = socketIp ?? 'unknown'
  if (trustedHops === 0 || !forwardedFor) return peer
  const hops = forwardedFor.split(',')
  const i = hops.length - trustedHops
  if (i < 0) return hops[0]!.trim() || peer
  return hops[i]!.trim() || peer
}
