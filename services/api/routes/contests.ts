import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi'
import { ID_MAX_LENGTH, ID_PATTERN, ID_RULE } from '../../../domain/ballot.ts'
import { publicContestCall } from '../../../domain/contest-calls.ts'
import { contestListSchema, contestResults, contestResultsSchema, hiddenRegionsOf } from '../../../domain/contest-results.ts'
import { AppError } from '../../../domain/errors.ts'
import { contestRoundsResponse, contestRoundsSchema } from '../../../domain/rcv/contest-rounds.ts'
import { mixedRankings, regionRankings } from '../../../lib/db/ballot-box.ts'
import { listContestSummaries, readContestCounts } from '../../../lib/db/contest-results.ts'
import { loadDefinitions } from '../../../lib/db/contests.ts'
import { getElection } from '../../../lib/db/elections.ts'
import { readSnapshot } from '../../../lib/db/sql.ts'
import type { ApiDeps } from '../deps.ts'
import { ElectionIdParam, json, problemResponses } from '../schemas.ts'
import { validationHook } from '../validation.ts'

const id = z.string().min(1).max(ID_MAX_LENGTH).regex(ID_PATTERN, ID_RULE)

/** Results per contest: the list, and one contest by region and channel with small cells suppressed. */
export function contestRoutes(deps: ApiDeps) {
  // Public reads: the standby where there is one (ApiDeps.readSql).
  const sql = deps.readSql
  const app = new OpenAPIHono({ defaultHook: validationHook })
  return app
    .openapi(
      createRoute({
        method: 'get',
        path: '/{id}/contests',
        summary: 'The contests on the ballot, in ballot order, with the ballots that carried each so far',
        request: { params: ElectionIdParam },
        responses: {
          200: json(contestListSchema, 'contests'),
          ...problemResponses(400, 404),
        },
      }),
      async (c) => {
        const electionId = c.req.valid('param').id
        const { election, rows } = await readSnapshot(sql, async (tx) => ({
          election: await getElection(tx, electionId),
          rows: await listContestSummaries(tx, electionId),
        }))
        return c.json(
          {
            electionId,
            contests: rows.map((r) => ({
              id: r.id,
              name: r.name,
              type: r.kind,
              district: r.districtId,
              votesAllowed: r.votesAllowed,
              ranked: r.ranked,
              regions: r.regions,
              // A contest's ballot count is public once it is not a small cell.
              ballots: r.ballots < election.minCellBallots ? 0 : r.ballots,
            })),
          },
          200,
        )
      },
    )
    .openapi(
      createRoute({
        method: 'get',
        path: '/{id}/contests/{contestId}',
        summary: "One contest's results: selections, over- and undervotes, outcome, by region and channel",
        description:
          "Cells (a region, a channel) with fewer ballots than the election's minimum (minCellBallots) are suppressed, and so are enough others that the totals do not give them back.",
        request: { params: ElectionIdParam.extend({ contestId: id.openapi({ param: { name: 'contestId', in: 'path' } }) }) },
        responses: {
          200: json(contestResultsSchema.extend({ status: z.string(), version: z.number() }), 'the contest'),
          ...problemResponses(400, 404),
        },
      }),
      async (c) => {
        const { id: electionId, contestId } = c.req.valid('param')
        const { election, counts, rules } = await readSnapshot(sql, async (tx) => {
          const election = await getElection(tx, electionId)
          const definition = (await loadDefinitions(tx, [electionId])).get(electionId)
          const rules = definition?.contests.find((k) => k.id === contestId)
          if (!rules) throw new AppError('not_found', `no contest ${contestId} in election ${electionId}`)
          return { election, rules, counts: await readContestCounts(tx, electionId, contestId) }
        })
        const results = contestResults({
          electionId,
          rules,
          votes: counts.votes,
          ballots: counts.ballots,
          regions: counts.regions,
          calls: counts.calls.map((call) => publicContestCall(call, election.countedVersion !== null)),
          finished: election.countedVersion !== null,
          minCellBallots: election.minCellBallots,
        })
        return c.json({ ...results, status: election.status, version: counts.version }, 200)
      },
    )
    .openapi(
      createRoute({
        method: 'get',
        path: '/{id}/contests/{contestId}/rounds',
        summary: "A ranked-choice contest's rounds as they stand: tallies, eliminations, transfers, inactive ballots by cause",
        description:
          "Tabulated from the rankings mixed into the ballot box (a window at a time: a second or so behind the count at 10,000 ballots/s, never a counting batch at a time), labelled unofficial until the election is certified; no rounds while fewer than the minimum cell of ballots rank anyone; `rctab` is the same rounds in the shape of RCTab's summary JSON. 409 for a contest that is not ranked.",
        request: {
          params: ElectionIdParam.extend({ contestId: id.openapi({ param: { name: 'contestId', in: 'path' } }) }),
          query: z.object({
            region: id.optional().openapi({ description: 'one region\'s ballots only: its "as if" rounds (as Alaska publishes them)' }),
          }),
        },
        responses: {
          200: json(contestRoundsSchema, 'the rounds'),
          ...problemResponses(400, 404, 409),
        },
      }),
      async (c) => {
        const { id: electionId, contestId } = c.req.valid('param')
        const { region } = c.req.valid('query')
        const { election, rules, rows } = await readSnapshot(sql, async (tx) => {
          const election = await getElection(tx, electionId)
          const definition = (await loadDefinitions(tx, [electionId])).get(electionId)
          const rules = definition?.contests.find((k) => k.id === contestId)
          if (!rules) throw new AppError('not_found', `no contest ${contestId} in election ${electionId}`)
          if (!rules.rcv)
            throw new AppError(
              'conflict',
              `contest ${contestId} is not ranked-choice: its results are at /elections/${electionId}/contests/${contestId}`,
            )
          if (region === undefined) return { election, rules, rows: await mixedRankings(tx, electionId, contestId) }
          const regions = definition?.regionsOfContest.get(contestId) ?? []
          if (!regions.includes(region)) throw new AppError('not_found', `region ${region} does not vote in contest ${contestId}`)
          // A precinct's rounds read twice a window apart would show that window's few
          // ballots there: served once counting has finished, and hidden where the
          // per-region results hide the region (its own cell, or to protect another's).
          if (election.countedVersion === null)
            throw new AppError('conflict', `a region's rounds are served once counting of election ${electionId} has finished`)
          const counts = await readContestCounts(tx, electionId, contestId)
          // The page's own choice, listed in the page's order (ties between equal regions).
          const hidden = hiddenRegionsOf(
            counts.regions.map((r) => r.id),
            counts.ballots,
            election.minCellBallots,
          )
          return { election, rules, rows: hidden.has(region) ? [] : await regionRankings(tx, electionId, contestId, region) }
        })
        const day = (election.openedAt ?? election.createdAt).toISOString().slice(0, 10)
        return c.json(
          contestRoundsResponse({
            electionId,
            regionId: region ?? null,
            contest: rules,
            rows,
            certified: election.status === 'certified',
            date: day,
            jurisdiction: election.name,
            minCellBallots: election.minCellBallots,
          }),
          200,
        )
      },
    )
}
