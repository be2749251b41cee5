import { createAuditFileActivities } from './audit-files.ts'
import { createAuditActivities } from './audits.ts'
import { createBallotActivities } from './ballots.ts'
import { createCertifyActivities } from './certify.ts'
import { createCountingActivities } from './counting.ts'
import type { ActivityDeps } from './deps.ts'
import { createRaceCallActivities } from './race-calls.ts'
import { createScheduleActivities } from './schedules.ts'
import { createTallyActivities } from './tallies.ts'

export type { ActivityDeps }

/** Every activity the workflows call, built from their dependencies (never imported by workflows but as a type). */
export function createActivities(deps: ActivityDeps) {
  return {
    ...createBallotActivities(deps),
    ...createCountingActivities(deps),
    ...createTallyActivities(deps),
    ...createCertifyActivities(deps),
    ...createScheduleActivities(deps),
    ...createRaceCallActivities(deps),
    ...createAuditFileActivities(deps),
    ...createAuditActivities(deps),
  }
}
export type ElectionActivities = ReturnType<typeof createActivities>
