import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi'
import { AppError } from '../../../domain/errors.ts'
import { getElection } from '../../../lib/db/elections.ts'
import { castBallot } from '../../../lib/db/outbox.ts'
import { hasCandidate, registerVoters, voterByTokenHash } from '../../../lib/db/roll.ts'
import { uuidV7 } from '../../../lib/uuid-v7.ts'
import { bearer, hashVoterToken, issueVoterToken, requireAdmin } from '../auth.ts'
import type { ApiDeps } from '../deps.ts'
import { CastBallot, ElectionIdParam, json, problemResponses, RegisterVoters } from '../schemas.ts'
import { validationHook } from '../validation.ts'

/** The voter roll and casting: registered voters cast with a credential issued to them. */
export function ballotRoutes(deps: ApiDeps) {
  const { sql, config } = deps
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
        const issued = voters.map((v) => ({ ...v, token: issueVoterToken() }))
        await registerVoters(
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
            'accepted: it will be counted',
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
        const voter = await voterByTokenHash(sql, id, hashVoterToken(token, config.API_VOTER_SECRET))
        if (!voter) throw new AppError('unauthorized', 'this credential belongs to no voter of this election')
        if (election.status !== 'open') throw new AppError('conflict', `election ${id} is ${election.status}: the polls are not open`)
        if (!(await hasCandidate(sql, id, body.candidateId)))
          throw new AppError('invalid_input', `no candidate ${body.candidateId} in ${id}`)
        // The receipt and the ballot in one transaction: a 202 means it will be counted. The
        // database stamps castAt: one clock for casting and counting.
        const ballot = await castBallot(sql, {
          v: 1,
          ballotId: uuidV7(),
          electionId: id,
          voterId: voter.id,
          candidateId: body.candidateId,
          regionId: voter.regionId,
          channel: body.channel,
        })
        deps.outbox.kick()
        return c.json({ electionId: id, ballotId: ballot.ballotId, status: 'accepted for counting' as const }, 202)
      },
    )
}
