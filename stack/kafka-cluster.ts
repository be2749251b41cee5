import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Admin } from 'kafkajs'
import { createKafka } from '../lib/kafka.ts'
import { LOCAL, TOPICS } from '../lib/local-stack.ts'
import { waitUntil } from '../lib/wait.ts'
import type { Component, Progress } from './component.ts'
import { StackError } from './component.ts'
import { STACK_CONFIG } from './config.ts'
import { hasJars, JVM_OPTIONS, java, LIBS_DIR } from './kafka.ts'
import { STACK_DIR } from './paths.ts'
import { runningPid, spawnDetached, stopProcess } from './proc.ts'

const CLUSTER_DIR = join(STACK_DIR, 'kafka-cluster')
const NODES = [1, 2, 3] as const
const { host } = LOCAL.kafka
const { firstPort } = LOCAL.kafkaCluster
/** Node n listens for clients on firstPort + 2(n−1) and for the controllers' quorum on the port after it. */
const clientPort = (node: number) => firstPort + 2 * (node - 1)
const controllerPort = (node: number) => clientPort(node) + 1
const nodeDir = (node: number) => join(CLUSTER_DIR, `node-${node}`)
const nodeName = (node: number) => `kafka-cluster-${node}`

/** The cluster's client addresses, for KAFKA_BROKERS. */
export const KAFKA_CLUSTER_BROKERS = NODES.map((n) => `${host}:${clientPort(n)}`).join(',')

/**
 * Replication as a deployment runs it (issue 25, item 2): three Kafka nodes from the same
 * jars as the stack's single broker, each broker and controller (a three-voter KRaft
 * quorum), on ports of their own beside the single broker (`bun run stack up
 * --kafka-cluster`). Topics here are replicated three times with two in sync required, so
 * losing one node loses no acknowledged ballot and stops nothing. Disposable like the
 * standby: `stack down` deletes its data.
 */
export function kafkaClusterComponent(): Component & {
  nodePid(node: number): number | undefined
  stopNode(node: number, signal?: NodeJS.Signals): Promise<boolean>
} {
  const brokers = KAFKA_CLUSTER_BROKERS.split(',')

  async function ready(): Promise<boolean> {
    const admin = createKafka({ brokers, clientId: 'votestream-stack', retries: 0 }).admin()
    try {
      await admin.connect()
      const cluster = await admin.describeCluster()
      return cluster.brokers.length === NODES.length
    } catch {
      return false
    } finally {
      await admin.disconnect().catch(() => {})
    }
  }

  async function startNode(node: number) {
    if (runningPid(nodeName(node), nodeDir(node))) return
    writeFileSync(join(nodeDir(node), 'server.properties'), nodeProperties(node))
    await spawnDetached(
      nodeName(node),
      'java',
      [
        ...JVM_OPTIONS.map((o) => (o.startsWith('-Xmx') ? '-Xmx512m' : o)),
        '-cp',
        `${LIBS_DIR}/*`,
        'kafka.Kafka',
        join(nodeDir(node), 'server.properties'),
      ],
      { cwd: nodeDir(node), marker: nodeDir(node) },
    )
  }

  return {
    name: 'kafka-cluster',
    address: KAFKA_CLUSTER_BROKERS,
    ready,
    pid: () => runningPid(nodeName(1), nodeDir(1)) ?? runningPid(nodeName(2), nodeDir(2)) ?? runningPid(nodeName(3), nodeDir(3)),
    nodePid: (node: number) => runningPid(nodeName(node), nodeDir(node)),
    stopNode: (node: number, signal: NodeJS.Signals = 'SIGTERM') => stopProcess(nodeName(node), signal, nodeDir(node)),
    async stop() {
      // One at a time, from the last: stopped together, the first controller to go takes
      // the quorum with it and the others' controlled shutdowns wait for an answer until killed.
      const stopped: boolean[] = []
      for (const n of [...NODES].reverse()) stopped.push(await stopProcess(nodeName(n), 'SIGTERM', nodeDir(n)))
      rmSync(CLUSTER_DIR, { recursive: true, force: true })
      return stopped.some(Boolean)
    },
    async install(progress: Progress) {
      if (!hasJars()) throw new StackError('the Kafka jars are missing: run `bun run stack up` first')
      if (NODES.every((n) => existsSync(join(nodeDir(n), 'data', 'meta.properties')))) return
      progress('formatting three KRaft nodes')
      rmSync(CLUSTER_DIR, { recursive: true, force: true })
      const clusterId = (await java(['kafka.tools.StorageTool', 'random-uuid'])).output.trim().split('\n').pop() ?? ''
      for (const n of NODES) {
        mkdirSync(join(nodeDir(n), 'data'), { recursive: true })
        writeFileSync(join(nodeDir(n), 'server.properties'), nodeProperties(n))
        const format = await java(['kafka.tools.StorageTool', 'format', '-t', clusterId, '-c', join(nodeDir(n), 'server.properties')])
        if (format.code !== 0) throw new StackError(`formatting Kafka node ${n} failed:\n${format.output}`)
      }
    },
    async start(progress: Progress) {
      // Another cluster on these ports would answer for ours (and a test would "kill" a node
      // that is not there): refused, as for the single broker.
      if (NODES.every((n) => !runningPid(nodeName(n), nodeDir(n))) && (await anyAnswers(brokers)))
        throw new StackError(`something else answers on ${KAFKA_CLUSTER_BROKERS}; stop it first`)
      progress(`starting three Kafka nodes on ${KAFKA_CLUSTER_BROKERS}`)
      await Promise.all(NODES.map(startNode))
      if (!(await waitUntil(ready, 180_000, 500)))
        throw new StackError('the Kafka cluster did not form; see `bun run stack logs kafka-cluster-1`')
      await ensureReplicatedTopics(brokers)
    },
  }
}

async function anyAnswers(brokers: string[]): Promise<boolean> {
  for (const b of brokers) {
    const admin = createKafka({ brokers: [b], clientId: 'votestream-stack', retries: 0 }).admin()
    try {
      await admin.connect()
      return true
    } catch {
      // nothing there
    } finally {
      await admin.disconnect().catch(() => {})
    }
  }
  return false
}

/**
 * Creates a topic and waits until every partition has a leader. kafkajs's own wait retries
 * only "leader not available"; a cluster formed a moment ago also answers "does not host
 * this topic-partition" while the new topic's metadata spreads (seen in CI).
 */
export async function createTopicWithLeaders(
  admin: Admin,
  topic: { topic: string; numPartitions: number; replicationFactor: number; configEntries?: Array<{ name: string; value: string }> },
  timeoutMs = 60_000,
): Promise<void> {
  await admin.createTopics({ waitForLeaders: false, topics: [topic] })
  const led = async () => {
    try {
      const [meta] = (await admin.fetchTopicMetadata({ topics: [topic.topic] })).topics
      return meta?.partitions.length === topic.numPartitions && meta.partitions.every((p) => p.leader >= 0)
    } catch {
      return false
    }
  }
  if (!(await waitUntil(led, timeoutMs, 250)))
    throw new StackError(`topic ${topic.topic} has partitions without a leader after ${timeoutMs} ms`)
}

/** Starts node n again after a test stopped it (it rejoins and catches up). */
export async function restartClusterNode(node: number): Promise<void> {
  const c = kafkaClusterComponent()
  if (c.nodePid(node)) return
  await c.start(() => {})
}

function nodeProperties(node: number): string {
  const voters = NODES.map((n) => `${n}@${host}:${controllerPort(n)}`).join(',')
  return `# Written by \`bun run stack up --kafka-cluster\`: node ${node} of three, broker and controller.
process.roles=broker,controller
node.id=${node}
controller.quorum.voters=${voters}
listeners=PLAINTEXT://${host}:${clientPort(node)},CONTROLLER://${host}:${controllerPort(node)}
advertised.listeners=PLAINTEXT://${host}:${clientPort(node)}
controller.listener.names=CONTROLLER
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
inter.broker.listener.name=PLAINTEXT
log.dirs=${join(nodeDir(node), 'data')}
default.replication.factor=3
min.insync.replicas=2
offsets.topic.replication.factor=3
offsets.topic.num.partitions=6
transaction.state.log.replication.factor=3
transaction.state.log.min.isr=2
share.coordinator.state.topic.replication.factor=3
share.coordinator.state.topic.min.isr=2
unclean.leader.election.enable=false
# A node that stops heartbeating is fenced in 6 s (default 9 s): its partitions' leadership moves
# sooner, while a node only slowed (four JVMs share two cores in the tests) is not fenced.
broker.session.timeout.ms=6000
broker.heartbeat.interval.ms=1000
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=false
num.network.threads=2
num.io.threads=2
`
}

/** The project's topics on the cluster, replicated three times, two in sync required. */
export async function ensureReplicatedTopics(brokers: string[], partitions: Partial<Record<keyof typeof TOPICS, number>> = {}) {
  const admin = createKafka({ brokers, clientId: 'votestream-stack' }).admin()
  await admin.connect()
  try {
    const existing = new Set(await admin.listTopics())
    for (const [key, t] of Object.entries(TOPICS).filter(([, t]) => !existing.has(t.name)))
      await createTopicWithLeaders(admin, {
        topic: t.name,
        numPartitions: partitions[key as keyof typeof TOPICS] ?? t.partitions,
        replicationFactor: 3,
        configEntries: [
          { name: 'min.insync.replicas', value: '2' },
          // Ballots on `votes` name their voter: kept only as long as VOTES_RETENTION_HOURS, as on the single broker.
          ...(t.name === TOPICS.votes.name
            ? [{ name: 'retention.ms', value: String(STACK_CONFIG.VOTES_RETENTION_HOURS * 3_600_000) }]
            : []),
        ],
      })
  } finally {
    await admin.disconnect()
  }
}
