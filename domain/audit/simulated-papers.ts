import type { Channel, Marks } from '../ballot.ts'
import type { Simulation } from '../simulation.ts'

/**
 * The paper ballots of a simulated election, as an audit board finds them: the generator's
 * own ballots (before any misread the plan injects), stacked per precinct and channel in
 * the generator's order, and cut into containers as the ballot manifest cuts the counted
 * ballots (domain/exports/ballot-manifest.ts). The paper at (batch, position) is therefore
 * a ballot of that precinct and channel, found by its place — never by a link to the ballot
 * box's record, which the secret ballot does not keep.
 *
 * Built a range of ballots at a time (`add`), so a caller that must heartbeat can yield.
 */
export class SimulatedPaperStacks {
  private readonly stacks = new Map<string, number[]>()
  private added = 0

  /** `produced`: the valid ballots the generator sent (every one counted: the manifest's N). */
  constructor(
    private readonly sim: Simulation,
    readonly produced: number,
  ) {
    if (!sim.contests) throw new Error('a simulation without contests has no papers to audit')
    if (produced > sim.ballotCount) throw new Error(`the generator makes ${sim.ballotCount} ballots, not ${produced}`)
  }

  /** Stacks the next `count` ballots; returns whether every produced ballot is stacked. */
  add(count: number): boolean {
    const to = Math.min(this.produced, this.added + count)
    for (let k = this.added; k < to; k++) {
      const b = this.sim.validBallot(k)
      const key = cellKey(this.sim.plan.regions[b.regionIndex]?.id ?? '', b.channel)
      const stack = this.stacks.get(key)
      if (stack) stack.push(k)
      else this.stacks.set(key, [k])
    }
    this.added = to
    return this.added === this.produced
  }

  /** Papers in a precinct × channel: what the manifest's batches of that cell must add up to. */
  stackSize(regionId: string, channel: Channel): number {
    return this.stacks.get(cellKey(regionId, channel))?.length ?? 0
  }

  /** The paper at 1-based `position` of container `container` (1-based) of a cell. */
  paperAt(at: { regionId: string; channel: Channel; container: number }, position: number, containerSize: number): Marks {
    const stack = this.stacks.get(cellKey(at.regionId, at.channel)) ?? []
    const k = stack[(at.container - 1) * containerSize + position - 1]
    const paper = k === undefined ? null : this.sim.paper(k)
    if (!paper) throw new Error(`no paper at ${at.regionId}/${at.channel}/${at.container} #${position}`)
    return paper
  }
}

const cellKey = (regionId: string, channel: string) => `${regionId}\u0000${channel}`
