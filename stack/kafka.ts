import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { ConfigResourceTypes } from 'kafkajs'
import { createKafka } from '../lib/kafka.ts'
import { LOCAL, LOCAL_KAFKA_BROKERS, TOPICS } from '../lib/local-stack.ts'
import { waitUntil } from '../lib/wait.ts'
import type { Component, Progress } from './component.ts'
import { DOCKER_HINT, StackError } from './component.ts'
import { STACK_CONFIG, type StackConfig } from './config.ts'
import { ROOT, STACK_DIR } from './paths.ts'
import { run, runningPid, spawnDetached, stopProcess, which } from './proc.ts'

const NAME = 'kafka'
const KAFKA_DIR = join(STACK_DIR, 'kafka')
/** The Kafka jars from Maven Central, shared by the single broker and the local cluster (kafka-cluster.ts). */
export const LIBS_DIR = join(KAFKA_DIR, 'libs')
const DATA_DIR = join(KAFKA_DIR, 'data')
const POM = join(ROOT, 'stack', 'kafka-pom.xml')

/**
 * Apache Kafka 4 in KRaft combined mode (broker and controller in one JVM), from the
 * jars on Maven Central: no Docker, no download from anywhere but the registry.
 * `KAFKA_BROKERS` naming other brokers wins.
 */
export function kafkaComponent(env: StackConfig = STACK_CONFIG): Component {
  const external = env.KAFKA_BROKERS && env.KAFKA_BROKERS !== LOCAL_KAFKA_BROKERS ? env.KAFKA_BROKERS : undefined
  const brokers = (external ?? LOCAL_KAFKA_BROKERS).split(',')

  async function ready(): Promise<boolean> {
    const admin = createKafka({ brokers, clientId: 'votestream-stack', retries: 0 }).admin()
    try {
      await admin.connect()
      const cluster = await admin.describeCluster()
      return cluster.brokers.length > 0
    } catch {
      return false
    } finally {
      await admin.disconnect().catch(() => {})
    }
  }

  return {
    name: NAME,
    external,
    address: brokers.join(','),
    ready,
    pid: () => runningPid(NAME, KAFKA_DIR),
    stop: () => stopProcess(NAME, 'SIGTERM', KAFKA_DIR),

    async install(progress: Progress) {
      if (external) return
      if (!which('java')) {
        throw new StackError(
          `Kafka needs Java 17 or later: install a JDK (e.g. \`apt-get install openjdk-17-jre-headless\`). ${DOCKER_HINT}`,
        )
      }
      if (!hasJars()) {
        if (!which('mvn')) {
          throw new StackError(
            `Kafka's jars come from Maven Central through Maven: install it (e.g. \`apt-get install maven\`). ${DOCKER_HINT}`,
          )
        }
        progress('resolving Apache Kafka from Maven Central (first run only, about a minute)')
        const { code, output } = await run('mvn', [
          '-q',
          '-B',
          '-f',
          POM,
          'dependency:copy-dependencies',
          `-DoutputDirectory=${LIBS_DIR}`,
          '-DincludeScope=runtime',
        ])
        if (code !== 0 || !hasJars()) throw new StackError(`mvn could not resolve Kafka:\n${output.slice(-2000)}`)
      }
      if (!existsSync(join(DATA_DIR, 'meta.properties'))) {
        progress('formatting Kafka storage (KRaft)')
        mkdirSync(KAFKA_DIR, { recursive: true })
        writeFileSync(join(KAFKA_DIR, 'server.properties'), serverProperties())
        writeFileSync(join(KAFKA_DIR, 'log4j2.yaml'), LOG4J)
        const clusterId = await java(['kafka.tools.StorageTool', 'random-uuid'])
        const id = clusterId.output.trim().split('\n').pop() ?? ''
        const format = await java(['kafka.tools.StorageTool', 'format', '-t', id, '-c', join(KAFKA_DIR, 'server.properties')])
        if (format.code !== 0) throw new StackError(`formatting Kafka storage failed:\n${format.output}`)
      }
    },

    async start(progress: Progress) {
      if (!external) {
        if (!runningPid(NAME, KAFKA_DIR)) {
          if (await ready())
            throw new StackError(`something else already answers on ${LOCAL_KAFKA_BROKERS}; stop it or set KAFKA_BROKERS to use it`)
          progress('starting Kafka')
          writeFileSync(join(KAFKA_DIR, 'server.properties'), serverProperties())
          await spawnDetached(NAME, 'java', [...JVM_OPTIONS, '-cp', `${LIBS_DIR}/*`, 'kafka.Kafka', join(KAFKA_DIR, 'server.properties')], {
            cwd: KAFKA_DIR,
            marker: KAFKA_DIR,
          })
        }
        const up = await waitUntil(async () => (await ready()) || !runningPid(NAME, KAFKA_DIR), 120_000)
        if (!up || !runningPid(NAME, KAFKA_DIR)) throw new StackError('Kafka did not start; see `bun run stack logs kafka`')
      }
      await ensureTopics(brokers, env.VOTES_RETENTION_HOURS)
    },
  }
}

export function hasJars(): boolean {
  return existsSync(LIBS_DIR) && readdirSync(LIBS_DIR).some((f) => /^kafka_2\.13-.*\.jar$/.test(f))
}

export function java(args: string[]) {
  return run('java', ['-cp', `${LIBS_DIR}/*`, `-Dlog4j2.configurationFile=${join(KAFKA_DIR, 'log4j2.yaml')}`, ...args])
}

/** Heap, collector and logging of a Kafka JVM (the cluster's nodes take a smaller heap). */
export const JVM_OPTIONS = [
  '-Xms256m',
  '-Xmx768m',
  '-XX:+UseG1GC',
  '-XX:MaxGCPauseMillis=20',
  '-Djava.awt.headless=true',
  `-Dlog4j2.configurationFile=${join(KAFKA_DIR, 'log4j2.yaml')}`,
  `-Dkafka.logs.dir=${join(KAFKA_DIR, 'logs')}`,
]

function serverProperties(): string {
  const { host, port, controllerPort } = LOCAL.kafka
  return `# Written by \`bun run stack\`: a single node, broker and controller in one process.
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@${host}:${controllerPort}
listeners=PLAINTEXT://${host}:${port},CONTROLLER://${host}:${controllerPort}
advertised.listeners=PLAINTEXT://${host}:${port}
controller.listener.names=CONTROLLER
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
inter.broker.listener.name=PLAINTEXT
log.dirs=${DATA_DIR}
num.partitions=${TOPICS.votes.partitions}
offsets.topic.replication.factor=1
offsets.topic.num.partitions=6
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=false
log.retention.hours=168
num.network.threads=2
num.io.threads=4
`
}

export const LOG4J = `Configuration:
  Appenders:
    Console:
      name: STDOUT
      PatternLayout:
        Pattern: "[%d] %p %m (%c)%n"
  Loggers:
    Root:
      level: WARN
      AppenderRef:
        - ref: STDOUT
    Logger:
      - name: kafka.server.KafkaRaftServer
        level: INFO
`

/**
 * Creates the project's topics if missing (several partitions so tally instances can
 * share), and holds `votes` to its retention: ballots there name their voter.
 */
export async function ensureTopics(brokers: string[], votesRetentionHours: number) {
  const admin = createKafka({ brokers, clientId: 'votestream-stack' }).admin()
  const retention = { name: 'retention.ms', value: String(votesRetentionHours * 3_600_000) }
  await admin.connect()
  try {
    const existing = new Set(await admin.listTopics())
    const missing = Object.values(TOPICS).filter((t) => !existing.has(t.name))
    if (missing.length > 0) {
      await admin.createTopics({
        waitForLeaders: true,
        topics: missing.map((t) => ({
          topic: t.name,
          numPartitions: t.partitions,
          replicationFactor: 1,
          configEntries: t.name === TOPICS.votes.name ? [retention] : [],
        })),
      })
    }
    await admin.alterConfigs({
      validateOnly: false,
      resources: [{ type: ConfigResourceTypes.TOPIC, name: TOPICS.votes.name, configEntries: [retention] }],
    })
  } finally {
    await admin.disconnect()
  }
}
