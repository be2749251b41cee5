/**
 * Group commit: the batches of several partitions counted in one transaction.
 *
 * kafkajs hands the tally one batch per partition. Counted each in its own transaction,
 * every batch paid the transaction's fixed cost (locking the fence, taking the results
 * version, one upsert per count row it touched, the commit's flush) for a few dozen
 * ballots. Here batches that arrive while a transaction is in flight wait and are counted
 * together in the next one, so the busier the tally, the larger its transactions, and an
 * idle tally still counts a lone ballot at once. A batch is settled when the transaction
 * that held it committed; its partition's next batch is only submitted after that (kafkajs
 * gives a partition one batch at a time), so a transaction holds at most one run of
 * messages per partition, in the order of the log.
 */
export interface GroupCommit<M, R> {
  /** Resolves with the result of the transaction that counted these messages. */
  submit(messages: M[]): Promise<R>
  /** Transactions in flight and batches waiting, for metrics and tests. */
  state(): { inFlight: number; waiting: number }
}

interface Waiting<M, R> {
  messages: M[]
  resolve: (r: R) => void
  reject: (err: unknown) => void
}

export function createGroupCommit<M, R>(options: {
  /** Transactions in flight at once. */
  maxInFlight: number
  /** Messages per transaction at most; a batch larger than this still goes whole, alone. */
  maxMessages: number
  /** Counts the messages of several batches, in one transaction. */
  commit: (messages: M[]) => Promise<R>
}): GroupCommit<M, R> {
  const waiting: Array<Waiting<M, R>> = []
  let inFlight = 0
  let scheduled = false

  // Started on the next turn of the event loop, not at once: kafkajs hands over the batches
  // of one fetch one after another, and they should share a transaction even when none is
  // in flight.
  function schedule() {
    if (scheduled) return
    scheduled = true
    setImmediate(() => {
      scheduled = false
      pump()
    })
  }

  function pump() {
    // The waiting batches are shared out between the free slots, so that with room for two
    // transactions the batches of one fetch become two transactions side by side: one's
    // statements run in PostgreSQL while the other's results are handled here.
    let slots = options.maxInFlight - inFlight
    while (slots > 0 && waiting.length > 0) {
      const share = Math.ceil(waiting.reduce((n, w) => n + w.messages.length, 0) / slots)
      const group: Array<Waiting<M, R>> = []
      let size = 0
      while (waiting.length > 0) {
        const next = waiting[0] as Waiting<M, R>
        if (group.length > 0 && (size >= share || size + next.messages.length > options.maxMessages)) break
        group.push(next)
        size += next.messages.length
        waiting.shift()
      }
      slots--
      start(group)
    }
  }

  function start(group: Array<Waiting<M, R>>) {
    inFlight++
    options
      .commit(group.flatMap((w) => w.messages))
      .then(
        (r) => {
          for (const w of group) w.resolve(r)
        },
        (err) => {
          for (const w of group) w.reject(err)
        },
      )
      .finally(() => {
        inFlight--
        schedule()
      })
  }

  return {
    submit(messages) {
      return new Promise<R>((resolve, reject) => {
        waiting.push({ messages, resolve, reject })
        schedule()
      })
    },
    state: () => ({ inFlight, waiting: waiting.length }),
  }
}
