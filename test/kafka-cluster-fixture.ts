import { spawnSync } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import type { Admin, Producer } from 'kafkajs'
import { encodeBallot } from '../domain/ballot.ts'
import type { Simulation } from '../domain/simulation.ts'
import { createKafka } from '../lib/kafka.ts'
import { createTopicWithLeaders, KAFKA_CLUSTER_BROKERS, kafkaClusterComponent } from '../stack/kafka-cluster.ts'
import { BUN, ROOT } from './helpers.ts'

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
const stack = (...args: string[]) => spawnSync(BUN, ['stack/cli.ts', ...args], { cwd: ROOT, encoding: 'utf8', timeout: 600_000 })

/**
 * The replicated Kafka for one test file (`stack up --kafka-cluster`): `open` starts it if it
 * is not running, connects a producer and an admin client and makes the file a topic of its
 * own (replication 3, two in sync); `close` removes the topic and stops the cluster if `open`
 * started it (three JVMs the other tests do not need). The file calls both from its own
 * hooks, so its processes stop before the cluster does.
 */
export function replicatedTopic(name: string, partitions: number) {
  const kafka = createKafka({ brokers: KAFKA_CLUSTER_BROKERS.split(','), clientId: `${name}-test`, retries: 20 })
  const cluster = kafkaClusterComponent()
  const topic = `test.${name}.${randomUUID().slice(0, 8)}`
  let producer: Producer | undefined
  let admin: Admin | undefined
  let started = false
  return {
    topic,
    partitions,
    cluster,
    get producer(): Producer {
      if (!producer) throw new Error('open the replicated topic first')
      return producer
    },
    get admin(): Admin {
      if (!admin) throw new Error('open the replicated topic first')
      return admin
    },
    async open() {
      started = cluster.pid() === undefined
      const up = stack('up', '--kafka-cluster')
      if (up.status !== 0) throw new Error(`stack up --kafka-cluster failed:\n${up.stderr}`)
      producer = kafka.producer()
      admin = kafka.admin()
      await Promise.all([producer.connect(), admin.connect()])
      await createTopicWithLeaders(admin, {
        topic,
        numPartitions: partitions,
        replicationFactor: 3,
        configEntries: [{ name: 'min.insync.replicas', value: '2' }],
      })
    },
    async close() {
      await admin?.deleteTopics({ topics: [topic] }).catch(() => {})
      await Promise.all([producer?.disconnect(), admin?.disconnect()])
      if (started) stack('down', '--kafka-cluster')
    },
  }
}

/**
 * Casts ballots [0, sim.ballotCount) onto `topic` evenly at `rate` a second, each cast
 * (castAt) when it is sent. A send that fails is sent again (a message written twice is
 * accounted for: a recorded duplicate, or a second rejection of the same ballot), so
 * everything cast reaches the log. `stopped()` ends it early.
 */
export async function castEvenly(
  producer: Producer,
  topic: string,
  sim: Simulation,
  rate: number,
  stopped: () => boolean = () => false,
): Promise<{ resent: number }> {
  const began = Date.now()
  let produced = 0
  let resent = 0
  while (!stopped() && produced < sim.ballotCount) {
    const due = Math.min(sim.ballotCount, Math.floor(((Date.now() - began) / 1000) * rate))
    const messages = []
    const castAt = new Date().toISOString()
    for (let k = produced; k < due; k++)
      for (const m of sim.messagesFor(k, castAt)) messages.push({ key: m.key, value: m.ballot ? encodeBallot(m.ballot) : (m.raw ?? '') })
    for (let attempt = 0; messages.length > 0; attempt++) {
      try {
        await producer.send({ topic, acks: -1, messages })
        break
      } catch (err) {
        if (attempt >= 20) throw err
        resent++
        await sleep(500)
      }
    }
    produced = due
    await sleep(20)
  }
  return { resent }
}

/** The node leading most of the topic's partitions, and how many it leads: the one to kill. */
export async function busiestLeader(admin: Admin, topic: string): Promise<{ node: number; leads: number }> {
  const [meta] = (await admin.fetchTopicMetadata({ topics: [topic] })).topics
  const leads = new Map<number, number>()
  for (const p of meta?.partitions ?? []) leads.set(p.leader, (leads.get(p.leader) ?? 0) + 1)
  const [node, count] = [...leads.entries()].sort((x, y) => y[1] - x[1])[0] ?? [1, 0]
  return { node, leads: count }
}
