/**
 * `scale-runtime/testing`: the conformance suites, one per port, and the plugin contract
 * suite. A backend passes by calling its suite with a factory from its own test file (they
 * use `bun:test`). Semver-guarded: a suite may gain cases in a minor version (a backend that
 * broke the port's contract may start failing), never lose them.
 */
export { cacheSuite, type CacheSuiteOptions } from './cache.ts'
export { dbPoolSuite } from './db-pool.ts'
export { dbRouterSuite } from './db-router.ts'
export { llmDispatchSuite, scriptedJob } from './llm-dispatch.ts'
export { pluginSuite, slotOf, testContext, type PluginSuiteOptions } from './plugin.ts'
export { rateLimiterSuite } from './rate-limiter.ts'
export { sessionStoreSuite, type SessionStoreSuiteOptions } from './session-store.ts'
