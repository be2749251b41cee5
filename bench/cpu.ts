import { readdirSync, readFileSync } from 'node:fs'

const TICKS = 100 // USER_HZ on Linux

/** CPU seconds (user + system) used so far by a process and, optionally, its children's tree. */
export function cpuSeconds(pid: number, withDescendants = false): number {
  const pids = withDescendants ? [pid, ...descendants(pid)] : [pid]
  let ticks = 0
  for (const p of pids) {
    try {
      const stat = readFileSync(`/proc/${p}/stat`, 'utf8')
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
      ticks += Number(fields[11]) + Number(fields[12]) // utime, stime
    } catch {
      // exited
    }
  }
  return ticks / TICKS
}

function descendants(root: number): number[] {
  const children = new Map<number, number[]>()
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8')
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1])
      children.set(ppid, [...(children.get(ppid) ?? []), Number(name)])
    } catch {
      // gone
    }
  }
  const out: number[] = []
  const queue = [root]
  while (queue.length > 0) {
    for (const c of children.get(queue.shift() ?? -1) ?? []) {
      out.push(c)
      queue.push(c)
    }
  }
  return out
}

export interface CpuReading {
  /** A share of one core over the metered time, in percent. */
  percent: Record<string, number>
  /** CPU seconds used over the metered time. */
  seconds: Record<string, number>
}

/** Samples CPU of named processes between two points in time. */
export function cpuMeter(processes: Record<string, { pid: number; tree?: boolean }>) {
  const start = Object.fromEntries(Object.entries(processes).map(([k, p]) => [k, cpuSeconds(p.pid, p.tree)]))
  const t0 = performance.now()
  return (): CpuReading => {
    const wall = (performance.now() - t0) / 1000
    const used = Object.fromEntries(Object.entries(processes).map(([k, p]) => [k, cpuSeconds(p.pid, p.tree) - (start[k] ?? 0)]))
    return {
      percent: Object.fromEntries(Object.entries(used).map(([k, s]) => [k, Math.round((100 * s) / wall)])),
      seconds: used,
    }
  }
}

/** The peak resident memory of a process so far (VmHWM), in MiB; 0 once it is gone. */
export function peakRssMiB(pid: number): number {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
    return m ? Math.round(Number(m[1]) / 1024) : 0
  } catch {
    return 0
  }
}
