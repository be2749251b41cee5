#!/usr/bin/env bun
/**
 * Holds server-sent event streams of the API's results open, for bench/readers.ts, in a
 * process of its own: parsing ten thousand streams in the benchmark's process would delay
 * the counter that runs there, and its p99 would measure the benchmark, not the system.
 * `bun bench/sse-streams.ts <port> <path> <streams> <seconds> <api pid>` prints `{"ready":true}`
 * once every stream is open, then the figures as one JSON line.
 */
import { readFileSync } from 'node:fs'
import { connect, type Socket } from 'node:net'
import { cpuSeconds } from './cpu.ts'

export interface StreamFigures {
  streams: number
  openedMs: number
  refused: number
  dropped: number
  versions: number
  /** Versions published while measuring that reached every stream. */
  reachedAll: number
  /** How long after the first stream the last one got a version: p50 and max over the versions that reached all. */
  spreadP50: number
  spreadMax: number
  apiCpuPercent: number
  /** This process's, reading the streams: on this machine it shares the cores with the API and the count. */
  clientCpuPercent: number
  apiRssMiB: number
  countingP99: number
}

/**
 * Opens `n` server-sent event streams of `path` on plain sockets (one connection each, as
 * that many browsers would), waits until every one has its first event, then notes for
 * `seconds` when each stream receives each version. Frames are found by their `id:` line
 * (the API writes one event per write, so a frame is never split by chunk headers).
 */
export async function holdStreams(port: number, path: string, n: number, seconds: number, apiPid: number, onReady?: () => void) {
  const seen = new Map<number, { first: number; last: number; count: number }>()
  let refused = 0
  let dropped = 0
  let ready = 0
  let measuring = false
  const sockets: Socket[] = []
  const marker = Buffer.from('\nid: ')
  const blankLine = Buffer.from('\n\n')
  const opened = performance.now()
  await new Promise<void>((resolve) => {
    // Bounded: streams that never answer are counted below as neither refused nor reached.
    setTimeout(resolve, 60_000)
    for (let i = 0; i < n; i++) {
      const socket = connect({ host: '127.0.0.1', port })
      sockets.push(socket)
      let tail: Buffer = Buffer.alloc(0)
      let status = 0
      let first = true
      /** The version whose id line was read, until its frame's end (a blank line) arrives. */
      let pending: number | null = null
      let lastCounted = -1
      socket.on('connect', () => socket.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n`))
      socket.on('data', (chunk: Buffer) => {
        const buf = tail.length ? Buffer.concat([tail, chunk]) : chunk
        if (status === 0) {
          status = Number(buf.subarray(9, 12).toString())
          if (status !== 200) {
            refused++
            socket.destroy()
            if (++ready === n) resolve()
            return
          }
        }
        // A version arrives with the end of its frame, whichever order its fields come in
        // (the id line first or last); each version is counted once per stream.
        let pos = 0
        for (;;) {
          if (pending === null) {
            const at = buf.indexOf(marker, pos)
            if (at < 0) break
            const end = buf.indexOf(10, at + marker.length)
            if (end < 0) break
            pending = Number(buf.subarray(at + marker.length, end).toString())
            pos = end
          }
          const frameEnd = buf.indexOf(blankLine, pos)
          if (frameEnd < 0) break
          const version = pending as number
          pending = null
          pos = frameEnd + blankLine.length
          if (first) {
            first = false
            if (++ready === n) resolve()
          }
          if (!measuring || version <= lastCounted) continue
          lastCounted = version
          const now = performance.now()
          const v = seen.get(version)
          if (v) {
            v.last = now
            v.count++
          } else seen.set(version, { first: now, last: now, count: 1 })
        }
        // Only what has not been read yet (an id line or a frame's end cut by the read).
        tail = buf.subarray(Math.max(pos, buf.length - 32))
      })
      socket.on('error', () => {})
      socket.on('close', () => {
        if (status === 200) dropped++
        else if (status === 0 && ++ready === n) resolve()
      })
    }
  })
  const openedMs = Math.round(performance.now() - opened)
  onReady?.()
  const cpu0 = cpuSeconds(apiPid)
  const own0 = process.cpuUsage()
  const t0 = performance.now()
  measuring = true
  await new Promise((r) => setTimeout(r, seconds * 1000))
  measuring = false
  const elapsedUs = (performance.now() - t0) * 1000
  const apiCpuPercent = Math.round(((cpuSeconds(apiPid) - cpu0) / (elapsedUs / 1e6)) * 100)
  const own = process.cpuUsage(own0)
  const clientCpuPercent = Math.round(((own.user + own.system) / elapsedUs) * 100)
  const rss = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${apiPid}/status`, 'utf8'))
  for (const socket of sockets) socket.destroy()
  const live = n - refused
  const all = [...seen.values()].filter((v) => v.count >= live)
  const spreads = all.map((v) => v.last - v.first).sort((a, b) => a - b)
  return {
    streams: n,
    openedMs,
    refused,
    dropped,
    versions: seen.size,
    reachedAll: all.length,
    spreadP50: Math.round(spreads[Math.floor(spreads.length / 2)] ?? 0),
    spreadMax: Math.round(spreads[spreads.length - 1] ?? 0),
    apiCpuPercent,
    clientCpuPercent,
    apiRssMiB: rss ? Math.round(Number(rss[1]) / 1024) : 0,
  }
}

if (import.meta.main) {
  const [port, path, n, seconds, apiPid] = process.argv.slice(2)
  // A first line once every stream is open (the caller measures from then), the figures last.
  const figures = await holdStreams(Number(port), String(path), Number(n), Number(seconds), Number(apiPid), () =>
    console.log(JSON.stringify({ ready: true })),
  )
  console.log(JSON.stringify(figures))
  process.exit(0)
}
