export * from './audit.ts'
export * from './election.ts'
export * from './reconcile.ts'
