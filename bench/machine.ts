/**
 * What machine a benchmark ran on, so every printed figure can say so: CPU, RAM, Node, date, and
 * the load average (another job on a 2-core machine changes the figures; the reader should know).
 */
import os from 'node:os';

export interface Machine {
  cpus: number;
  cpu_model: string;
  ram_gib: number;
  node: string;
  platform: string;
  date: string;
  /** 1-minute load average when the benchmark started. */
  load_average: number;
}

export function machine(): Machine {
  return {
    cpus: os.cpus().length,
    cpu_model: os.cpus()[0]?.model.trim() ?? 'unknown cpu',
    ram_gib: Math.round(os.totalmem() / 2 ** 30),
    node: process.version,
    platform: `${os.platform()} ${os.release()}`,
    date: new Date().toISOString(),
    load_average: Math.round(os.loadavg()[0]! * 100) / 100,
  };
}

/** "2 × AMD EPYC … · 24 GiB · Node v20.20.2 · load average 0.4" */
export function machineLine(m: Machine = machine()): string {
  return `${m.cpus} × ${m.cpu_model} · ${m.ram_gib} GiB · Node ${m.node} · load average ${m.load_average.toFixed(1)}`;
}
