import type { Producer } from 'kafkajs'
import { type Ballot, encodeBallot } from '../domain/ballot.ts'
import { TOPICS } from './local-stack.ts'

/** A message for the `votes` topic: a ballot, or raw bytes (the simulator's invalid ones). */
export interface OutgoingBallot {
  key: string
  electionId: string
  ballot?: Ballot
  raw?: string | Buffer
}

/**
 * Sends ballots to `votes`, keyed by voter id (one voter's ballots stay in order on one
 * partition) with the election in a header, and waits for every replica's ack.
 */
export async function sendBallots(producer: Producer, ballots: OutgoingBallot[]): Promise<void> {
  if (ballots.length === 0) return
  await producer.send({
    topic: TOPICS.votes.name,
    acks: -1,
    messages: ballots.map((b) => ({
      key: b.key,
      value: b.ballot ? encodeBallot(b.ballot) : (b.raw ?? ''),
      headers: { 'election-id': b.electionId },
    })),
  })
}
