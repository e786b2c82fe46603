import { parseUnsignedDecimal } from '../parse/decimal';
import { readSmallFile } from './file-read';
import { procPath, type HostPaths } from './host-paths';

/** What shapes how big the table gets and what it costs: memory, and the timeouts entries live for. */
export interface SizingMeasurement {
  readonly memTotalBytes?: number;
  readonly timeouts: {
    readonly timeWait?: number;
    readonly established?: number;
    readonly udp?: number;
    readonly udpStream?: number;
  };
}

const TIMEOUTS = {
  timeWait: 'sys/net/netfilter/nf_conntrack_tcp_timeout_time_wait',
  established: 'sys/net/netfilter/nf_conntrack_tcp_timeout_established',
  udp: 'sys/net/netfilter/nf_conntrack_udp_timeout',
  udpStream: 'sys/net/netfilter/nf_conntrack_udp_timeout_stream',
} as const;

export function parseMemTotal(meminfo: string): number | undefined {
  const m = /^MemTotal:\s+(\d+) kB$/m.exec(meminfo);
  const kb = m ? Number(m[1]) : NaN;
  return Number.isSafeInteger(kb) ? kb * 1024 : undefined;
}

export async function probeSizing(host: HostPaths): Promise<SizingMeasurement> {
  const keys = Object.keys(TIMEOUTS) as Array<keyof typeof TIMEOUTS>;
  const [meminfo, ...values] = await Promise.all([
    readSmallFile(procPath(host, 'meminfo')),
    ...keys.map((k) => readSmallFile(procPath(host, TIMEOUTS[k]))),
  ]);
  const timeouts: Record<string, number | undefined> = {};
  keys.forEach((k, i) => {
    const r = values[i]!;
    const parsed = r.status === 'ok' ? parseUnsignedDecimal(r.text) : undefined;
    timeouts[k] = parsed?.ok ? parsed.value : undefined;
  });
  return { memTotalBytes: meminfo.status === 'ok' ? parseMemTotal(meminfo.text) : undefined, timeouts };
}
