/**
 * The long fault suites (the cluster's faults and takeover on loopback, worker hosts in network
 * namespaces, the single host's partition runs, the 12-file cluster load) take most of a run's
 * time and test the protocol between processes, not the Node version. CI runs them on one Node
 * major and sets MEMC_FAULT_SUITES=skip on the others (.ci/run), so the three runs fit its
 * budget; everywhere else (`npm test` as the README gives it) they run.
 */
export function faultSuitesOff(): string | false {
  return process.env['MEMC_FAULT_SUITES'] === 'skip' ? 'the fault suites run on another Node major of this CI run (MEMC_FAULT_SUITES=skip)' : false;
}
