/**
 * Key names. Every key is `<prefix><kind>:{<id>}<suffix>`: the braces are a Redis Cluster
 * hash tag, so all keys of one id (a conversation's turns and summary, say) live in one slot
 * and a script may touch them together. A prefix with braces of its own (`{scale}:`) would
 * put every key in one slot; keep braces out of `redis.keyPrefix` on a cluster.
 */
export function taggedKey(prefix: string, kind: string, id: string, suffix = ''): string {
  return `${prefix}${kind}:{${id}}${suffix}`
}
