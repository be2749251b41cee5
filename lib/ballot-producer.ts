import type { Producer } from 'kafkajs'
import { type AnyBallot, encodeBallot } from '../domain/ballot.ts'
import { TOPICS } from './local-stack.ts'

/** A message for the `votes` topic: a ballot, or raw bytes (the simulator's invalid ones, the outbox's). */
export interface OutgoingBallot {
  key: string
  electionId: string
  ballot?: AnyBallot
  raw?: string | Buffer
}

/**
 * Messages per produce request at most, however many ballots a caller hands over: even if
 * all went to one partition (a ballot is about 250 bytes) the record batch stays below the
 * broker's 1 MiB limit, which a very high simulation rate used to exceed for good.
 */
export const MAX_MESSAGES_PER_SEND = 3000

/**
 * Sends ballots to `votes`, keyed by voter id (one voter's ballots stay in order on one
 * partition) with the election in a header, and waits for every replica's ack.
 */
export async function sendBallots(producer: Producer, ballots: OutgoingBallot[]): Promise<void> {
  for (let i = 0; i < ballots.length; i += MAX_MESSAGES_PER_SEND) {
    await producer.send({
      topic: TOPICS.votes.name,
      acks: -1,
      messages: ballots.slice(i, i + MAX_MESSAGES_PER_SEND).map((b) => ({
        key: b.key,
        value: b.ballot ? encodeBallot(b.ballot) : (b.raw ?? ''),
        headers: { 'election-id': b.electionId },
      })),
    })
  }
}
