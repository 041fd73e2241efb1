/** Network helpers for tests; they live with the local deployment tools, which use them too. */
export { freePort } from '../../deploy/local/net.ts'
