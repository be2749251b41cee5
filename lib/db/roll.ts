import { AppError } from '../../domain/errors.ts'
import type { Db, Sql } from './sql.ts'

/**
 * The voter roll of a live election, as the API writes and reads it. Registration is open
 * until the polls close: the election's row is read `for share`, so closing the polls
 * waits for a registration in flight and refuses the ones after it.
 */
export async function registerVoters(
  sql: Sql,
  electionId: string,
  voters: Array<{ id: string; regionId: string; tokenHash: Buffer }>,
): Promise<void> {
  await sql.begin(async (tx) => {
    const [election] = await tx<{ status: string; simulated: boolean }[]>`
      select status, simulated from elections where id = ${electionId} for share`
    if (!election) throw new AppError('not_found', `no election ${electionId}`)
    if (election.simulated) throw new AppError('conflict', `${electionId} is simulated: its roll is generated`)
    if (election.status !== 'draft' && election.status !== 'open') {
      throw new AppError('conflict', `election ${electionId} is ${election.status}: registration closed with the polls`)
    }
    const regions = new Set((await tx<{ id: string }[]>`select id from regions where election_id = ${electionId}`).map((r) => r.id))
    const unknown = [...new Set(voters.filter((v) => !regions.has(v.regionId)).map((v) => v.regionId))]
    if (unknown.length > 0) throw new AppError('invalid_input', `unknown regions: ${unknown.join(', ')}`)
    // A region's roll is capped by the registered voters declared for it, so turnout can
    // never pass 100 %. The regions' rows are locked (in order) so that two registrations
    // at once cannot both take the last places.
    const wanted = new Map<string, number>()
    for (const v of voters) wanted.set(v.regionId, (wanted.get(v.regionId) ?? 0) + 1)
    const full = await tx<{ id: string; declared: number; registered: number }[]>`
      with locked as (
        select id, registered_voters from regions where election_id = ${electionId} and id = any(${[...wanted.keys()]}::text[])
        order by id for update
      )
      select l.id, l.registered_voters::float8 as declared,
             (select count(*) from voters v where v.election_id = ${electionId} and v.region_id = l.id)::float8 as registered
      from locked l`
    const over = full.filter((r) => r.registered + (wanted.get(r.id) ?? 0) > r.declared)
    if (over.length > 0) {
      throw new AppError(
        'conflict',
        `the roll would exceed the registered voters declared for ${over
          .slice(0, 10)
          .map((r) => `${r.id} (${r.declared} declared, ${r.registered} registered, ${wanted.get(r.id)} more asked)`)
          .join(', ')}`,
      )
    }
    const inserted = await tx<{ id: string }[]>`
      insert into voters (election_id, id, region_id, token_hash)
      select ${electionId}, id, region_id, decode(token_hex, 'hex')
      from unnest(${voters.map((v) => v.id)}::text[], ${voters.map((v) => v.regionId)}::text[],
                  ${voters.map((v) => v.tokenHash.toString('hex'))}::text[]) as t(id, region_id, token_hex)
      on conflict do nothing
      returning id`
    if (inserted.length < voters.length) {
      const fresh = new Set(inserted.map((r) => r.id))
      const taken = voters.filter((v) => !fresh.has(v.id)).map((v) => v.id)
      // Nothing is registered: the whole request is refused, so no credential is issued in vain.
      throw new AppError('conflict', `already registered: ${taken.slice(0, 10).join(', ')}`)
    }
  })
}

/** The voter a credential belongs to, in one election. */
export async function voterByTokenHash(db: Db, electionId: string, tokenHash: Buffer) {
  const [voter] = await db<{ id: string; regionId: string }[]>`
    select id, region_id from voters where election_id = ${electionId} and token_hash = ${tokenHash}`
  return voter
}

export async function hasCandidate(db: Db, electionId: string, candidateId: string): Promise<boolean> {
  const [row] = await db`select 1 from candidates where election_id = ${electionId} and id = ${candidateId}`
  return row !== undefined
}
