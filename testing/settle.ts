/** Helpers the suites share. */

/** Resolves with 'done' when `p` settles well, else with what it threw: a case can then `expect` it. */
export const settle = (p: unknown): Promise<unknown> =>
  Promise.resolve(p).then(
    () => 'done',
    (e: unknown) => e,
  )
