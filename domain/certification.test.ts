import { describe, expect, it } from 'vitest'
import { type CertificationEvidence, checkCertification } from './certification.ts'

const sound: CertificationEvidence = {
  ledger: [
    {
      groupId: 'tally',
      topic: 'votes',
      partition: 0,
      nextOffset: '12',
      messages: '10',
      counted: '8',
      rejected: '1',
      duplicates: '1',
      skipped: '2',
      gapped: '0',
      balanced: true,
      contiguous: true,
    },
  ],
  differences: 0,
  repaired: 0,
  closeMarks: { '0': '12' },
  stored: { '0': '12' },
  gaps: [],
  overTurnout: [],
  regionsChecked: 3,
  wrongCalls: [],
  standingCalls: 1,
}
const failing = (e: CertificationEvidence) =>
  checkCertification(e, new Date(0))
    .items.filter((i) => !i.passed)
    .map((i) => i.id)

describe('the certification checklist', () => {
  it('passes every item on sound evidence, and says what it compared', () => {
    const check = checkCertification(sound, new Date(0))
    expect(check.passed).toBe(true)
    expect(check.items.map((i) => i.id)).toEqual([
      'ledger_balanced',
      'recount_equal',
      'counted_to_close',
      'no_log_gaps',
      'turnout_within_roll',
      'race_calls_agree',
      'ranked_rounds_recounted',
      'one_partition_per_voter',
    ])
    expect(check.items[0]?.detail).toBe(
      '1 partitions, 10 messages = 8 counted + 1 rejected + 1 duplicates; 2 transaction markers or aborted records skipped',
    )
  })

  it('fails exactly the item whose evidence is wrong, naming it', () => {
    const [row] = sound.ledger
    if (!row) throw new Error('fixture')
    expect(failing({ ...sound, ledger: [{ ...row, balanced: false }] })).toEqual(['ledger_balanced'])
    expect(failing({ ...sound, ledger: [{ ...row, contiguous: false }] })).toEqual(['ledger_balanced'])
    expect(failing({ ...sound, ledger: [] })).toEqual(['ledger_balanced'])
    expect(failing({ ...sound, differences: 2 })).toEqual(['recount_equal'])
    expect(failing({ ...sound, stored: { '0': '11' } })).toEqual(['counted_to_close'])
    expect(failing({ ...sound, closeMarks: null })).toEqual(['counted_to_close'])
    expect(failing({ ...sound, gaps: [{ partition: 0, from: '3', to: '5', kind: 'missing', detail: 'retention' }] })).toEqual([
      'no_log_gaps',
    ])
    expect(failing({ ...sound, overTurnout: [{ regionId: 'north', ballots: 3, roll: 3, declared: 1 }] })).toEqual(['turnout_within_roll'])
    expect(failing({ ...sound, wrongCalls: [{ call: 'the election: ada', reason: 'alan leads' }] })).toEqual(['race_calls_agree'])
    const ranked = { contestId: 'mayor', ballots: 12, ranking: 11, rounds: 3, elected: 'ada', differences: [] as string[] }
    expect(failing({ ...sound, rankedContests: [ranked] })).toEqual([])
    // A contest of a handful of ranking ballots: its winner is what those voters chose, not named.
    const tiny = checkCertification({ ...sound, rankedContests: [{ ...ranked, ballots: 9, ranking: 3 }] }, new Date(0))
    expect(tiny.items.find((i) => i.id === 'ranked_rounds_recounted')?.detail).toBe(
      "1 ranked contests, rankings equal to the box's and to the first choices counted: mayor: fewer than 10 ballots rank anyone (not shown)",
    )
    expect(failing({ ...sound, rankedContests: [{ ...ranked, differences: ['[["ada"]]: 5 running, 4 recounted'] }] })).toEqual([
      'ranked_rounds_recounted',
    ])
    // A voter's ballots on two partitions: which counted was not the log's order. Partitions
    // added while open are named, and fail the item only with such a voter.
    const partitions = (e: Partial<CertificationEvidence>) =>
      checkCertification({ ...sound, ...e }, new Date(0)).items.find((i) => i.id === 'one_partition_per_voter')
    expect(partitions({ partitionsAtOpen: 1 })).toMatchObject({
      passed: true,
      detail: "no voter's ballots on two partitions; 1 partitions from the open to the close",
    })
    expect(partitions({ partitionsAtOpen: null })).toMatchObject({
      passed: true,
      detail: "no voter's ballots on two partitions; 1 partitions at the close (the count at the open was not recorded)",
    })
    expect(partitions({ closeMarks: { '0': '10', '1': '0' }, stored: { '0': '10' }, partitionsAtOpen: 1 })).toMatchObject({
      passed: true,
      detail: "no voter's ballots on two partitions; the votes topic had 1 partitions when the polls opened and 2 when they closed",
    })
    expect(
      failing({ ...sound, closeMarks: { '0': '10', '1': '0' }, stored: { '0': '10' }, partitionsAtOpen: 1, votersOnTwoPartitions: 2 }),
    ).toEqual(['one_partition_per_voter'])
    expect(partitions({ partitionsAtOpen: 1, votersOnTwoPartitions: 1 })?.detail).toBe(
      "1 voter's ballots lie on two partitions, so which of them counted was not decided by the log's order; 1 partitions from the open to the close; a board may adjudicate it (POST /elections/{id}/certification/adjudications), then check again",
    )
    // Adjudicated by a board: passes, the decision and its reason on the record.
    const adjudicated = partitions({
      partitionsAtOpen: 1,
      votersOnTwoPartitions: 1,
      adjudications: [
        { item: 'one_partition_per_voter', reason: 'the board accepts the ballot counted', adjudicatedAt: '2026-11-04T02:00:00.000Z' },
      ],
    })
    expect(adjudicated).toMatchObject({
      passed: true,
      detail:
        "1 voter's ballots lie on two partitions (which counted was not decided by the log's order): adjudicated 2026-11-04T02:00:00.000Z: the board accepts the ballot counted; 1 partitions from the open to the close",
    })
    // A call retracted during the count holds nothing (a retraction is for ever), but is on the record.
    const retracted = checkCertification(
      { ...sound, retractedCalls: [{ call: 'region north: ada', reason: 'alan took the lead' }] },
      new Date(0),
    )
    expect(retracted.passed).toBe(true)
    expect(retracted.items.find((i) => i.id === 'race_calls_agree')?.detail).toMatch(
      /retracted while counting: region north: ada \(alan took the lead\)/,
    )
    const turnout = checkCertification({ ...sound, overTurnout: [{ regionId: 'north', ballots: 3, roll: 3, declared: 1 }] }, new Date(0))
    expect(turnout.passed).toBe(false)
    expect(turnout.items.find((i) => i.id === 'turnout_within_roll')?.detail).toBe(
      'regions over 100 %: north: 3 ballots, 3 on the roll, 1 declared',
    )
  })
})
