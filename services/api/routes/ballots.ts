import { randomUUID } from 'node:crypto'
import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi'
import type { Ballot } from '../../../domain/ballot.ts'
import { AppError } from '../../../domain/errors.ts'
import { sendBallots } from '../../../lib/ballot-producer.ts'
import { addVoters, getElection } from '../../../lib/db/elections.ts'
import { bearer, hashVoterToken, issueVoterToken, requireAdmin } from '../auth.ts'
import type { ApiDeps } from '../deps.ts'
import { CastBallot, ElectionIdParam, json, problemResponses, RegisterVoters } from '../schemas.ts'
import { validationHook } from '../validation.ts'

/** The voter roll and casting: registered voters cast with a credential issued to them. */
export function ballotRoutes(deps: ApiDeps) {
  const { sql, producer, config } = deps
  const app = new OpenAPIHono({ defaultHook: validationHook })
  const adminOnly = requireAdmin(config.API_ADMIN_TOKEN)

  return app
    .openapi(
      createRoute({
        method: 'post',
        path: '/{id}/voters',
        summary: 'Register voters and issue each a credential (returned once, stored only as an HMAC)',
        security: [{ bearer: [] }],
        middleware: [adminOnly] as const,
        request: { params: ElectionIdParam, body: { content: { 'application/json': { schema: RegisterVoters } }, required: true } },
        responses: {
          201: json(z.object({ electionId: z.string(), voters: z.array(z.object({ id: z.string(), token: z.string() })) }), 'registered'),
          ...problemResponses(400, 401, 404, 409),
        },
      }),
      async (c) => {
        const { id } = c.req.valid('param')
        const { voters } = c.req.valid('json')
        const election = await getElection(sql, id)
        if (election.simulated) throw new AppError('conflict', `${id} is simulated: its roll is generated`)
        const regions = new Set((await sql<{ id: string }[]>`select id from regions where election_id = ${id}`).map((r) => r.id))
        const unknown = voters.filter((v) => !regions.has(v.regionId))
        if (unknown.length > 0)
          throw new AppError('invalid_input', `unknown regions: ${[...new Set(unknown.map((v) => v.regionId))].join(', ')}`)
        const existing = await sql<
          { id: string }[]
        >`select id from voters where election_id = ${id} and id = any(${voters.map((v) => v.id)}::text[])`
        if (existing.length > 0)
          throw new AppError(
            'conflict',
            `already registered: ${existing
              .map((v) => v.id)
              .slice(0, 10)
              .join(', ')}`,
          )
        const issued = voters.map((v) => ({ ...v, token: issueVoterToken() }))
        await addVoters(
          sql,
          id,
          issued.map((v) => ({ id: v.id, regionId: v.regionId, tokenHash: hashVoterToken(v.token, config.API_VOTER_SECRET) })),
        )
        return c.json({ electionId: id, voters: issued.map(({ id: voter, token }) => ({ id: voter, token })) }, 201)
      },
    )
    .openapi(
      createRoute({
        method: 'post',
        path: '/{id}/ballots',
        summary: 'Cast a ballot as a registered voter (`Authorization: Bearer <voter token>`)',
        security: [{ voter: [] }],
        request: { params: ElectionIdParam, body: { content: { 'application/json': { schema: CastBallot } }, required: true } },
        responses: {
          202: json(
            z.object({ electionId: z.string(), ballotId: z.string(), status: z.literal('accepted for counting') }),
            'published to the count',
          ),
          ...problemResponses(400, 401, 404, 409),
        },
      }),
      async (c) => {
        const { id } = c.req.valid('param')
        const body = c.req.valid('json')
        const token = bearer(c.req.header('authorization'))
        if (!token) throw new AppError('unauthorized', 'casting needs `Authorization: Bearer <voter token>`')
        const election = await getElection(sql, id)
        const [voter] = await sql<{ id: string; regionId: string }[]>`
          select id, region_id from voters where election_id = ${id} and token_hash = ${hashVoterToken(token, config.API_VOTER_SECRET)}`
        if (!voter) throw new AppError('unauthorized', 'this credential belongs to no voter of this election')
        if (election.status !== 'open') throw new AppError('conflict', `election ${id} is ${election.status}: the polls are not open`)
        const [candidate] = await sql`select 1 from candidates where election_id = ${id} and id = ${body.candidateId}`
        if (!candidate) throw new AppError('invalid_input', `no candidate ${body.candidateId} in ${id}`)
        const ballot: Ballot = {
          v: 1,
          ballotId: randomUUID(),
          electionId: id,
          voterId: voter.id,
          candidateId: body.candidateId,
          regionId: voter.regionId,
          channel: body.channel,
          castAt: new Date().toISOString(),
        }
        const [receipt] = await sql`
          insert into cast_receipts (election_id, voter_id, ballot_id) values (${id}, ${voter.id}, ${ballot.ballotId})
          on conflict do nothing returning ballot_id`
        if (!receipt) throw new AppError('conflict', 'this voter has already cast a ballot in this election')
        try {
          await sendBallots(producer, [{ key: voter.id, electionId: id, ballot }])
        } catch (err) {
          // Not published: take the receipt back so the voter can try again.
          await sql`delete from cast_receipts where election_id = ${id} and voter_id = ${voter.id} and ballot_id = ${ballot.ballotId}`
          throw new AppError('unavailable', 'the ballot could not be sent for counting; try again', undefined, { cause: err })
        }
        return c.json({ electionId: id, ballotId: ballot.ballotId, status: 'accepted for counting' as const }, 202)
      },
    )
}
