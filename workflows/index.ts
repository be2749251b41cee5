export * from './election.ts'
export * from './reconcile.ts'
