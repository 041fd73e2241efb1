/** Private PostgreSQL servers for tests; they live with the local deployment tools (`npm run cluster`), which use them too. */
export * from '../../deploy/local/postgres.ts'
