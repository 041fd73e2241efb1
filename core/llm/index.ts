/** LLM providers: pick one from the resolved config. */
import type { ResolvedConfig } from '../config/resolved.ts'
import { ScaleError, quote } from '../errors.ts'
import { createAnthropicProvider } from './anthropic.ts'
import { createFakeProvider } from './fake.ts'
import type { LlmProvider } from './provider.ts'

export { createAnthropicProvider, type AnthropicProviderOptions } from './anthropic.ts'
export { createFakeProvider, fakeReplyWords, type FakeProviderOptions } from './fake.ts'
export * from './provider.ts'

/**
 * The provider `config.llm` asks for: `'anthropic'` (with its `apiKey`; `resolveConfig` refuses
 * one without) or the offline `'fake'`.
 *
 * @example
 * const provider = createProvider(config.llm)
 */
export function createProvider(llm: ResolvedConfig['llm']): LlmProvider {
  if (llm.provider === 'fake') return createFakeProvider({ tokenDelayMs: llm.fakeTokenDelayMs })
  if (llm.provider === 'anthropic') {
    return createAnthropicProvider({
      apiKey: llm.apiKey,
      baseURL: llm.baseURL,
      model: llm.model,
      timeoutMs: llm.timeoutMs,
      maxRetries: llm.maxRetries,
    })
  }
  throw new ScaleError(
    'CONFIG_INVALID',
    `config llm.provider is ${quote((llm as { provider: unknown }).provider)}; expected 'anthropic' or 'fake'`,
  )
}
