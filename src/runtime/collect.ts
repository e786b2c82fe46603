import { checkTable } from '../checks/table-usage';
import type { Result } from '../nagios/result';
import type { HostPaths } from '../probes/host-paths';
import { probeTable } from '../probes/table';
import type { Options } from './options';

/**
 * The composition root: runs the probes the options call for and hands their
 * measurements to the checks. Nothing here reads the host itself.
 */
// eslint-disable-next-line @typescript-eslint/no-unused-vars
export async function collect(options: Options, _signal: AbortSignal): Promise<Result[]> {
  const host: HostPaths = { procRoot: options.procRoot, sysRoot: options.sysRoot };
  const table = await probeTable(host);
  return [checkTable(table, options)];
}
