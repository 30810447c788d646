// CPU time of a process tree, read from /proc, so a benchmark reports the
// CPU of what it measures apart from its own driver.
import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';

const CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;

/** The pids of a process and its live descendants. */
function treePids(rootPid: number): number[] {
  const parentOf = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      parentOf.set(Number(entry), Number(fields[1]));
    } catch {
      // the process ended while we looked
    }
  }
  const inTree = (pid: number): boolean => {
    for (let p: number | undefined = pid, hops = 0; p !== undefined && p > 1 && hops < 64; p = parentOf.get(p), hops++) {
      if (p === rootPid) return true;
    }
    return false;
  };
  return [...parentOf.keys()].filter(inTree);
}

/** CPU seconds of a process and all its live descendants (every thread, from schedstat) plus their reaped children. */
export function treeCpuSeconds(rootPid: number): number {
  let seconds = 0;
  for (const pid of treePids(rootPid)) {
    try {
      for (const task of readdirSync(`/proc/${pid}/task`)) {
        seconds += Number(readFileSync(`/proc/${pid}/task/${task}/schedstat`, 'utf8').split(' ')[0]) / 1e9;
      }
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      seconds += (Number(fields[13]) + Number(fields[14])) / CLK_TCK; // cutime + cstime
    } catch {
      // the process ended while we looked
    }
  }
  return seconds;
}


/** Resident memory of a process and its live descendants, in bytes (VmRSS from /proc). */
export function treeRssBytes(rootPid: number): number {
  let bytes = 0;
  for (const pid of treePids(rootPid)) {
    try {
      const kib = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
      bytes += Number(kib ?? 0) * 1024;
    } catch {
      // the process ended while we looked
    }
  }
  return bytes;
}
