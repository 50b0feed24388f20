import type { ServiceBoard } from '../status/status.js';
import type { IndexBuildOutcome, IndexDeltaOutcome } from './national-index.js';

export interface IndexLog {
  info(fields: object, message: string): void;
  error(fields: object, message: string): void;
}

const EMPTY_DATABASE = 'the national DNA database is empty: every search is answered "no hit" (pruem dna import)';

/**
 * What an index build means for operators (the service board, the log) and for the queue: DNA requests
 * deferred while there was no index are made due as soon as the first one is ready (`firstReady`).
 */
export function reportIndexBuilds(deps: { services: ServiceBoard; log: IndexLog; firstReady: () => void }): (b: IndexBuildOutcome) => void {
  const { services, log } = deps;
  return (b) => {
    if (b.ok) {
      log.info({ profiles: b.profiles, generation: b.generation, seconds: Math.round(b.totalMs / 100) / 10 }, b.first ? 'DNA index built' : 'DNA index rebuilt after an import');
      // An empty national database answers every search "no hit": amber, so nobody takes that for normal.
      if (b.profiles === 0) services.set('dna-index', 'degraded', EMPTY_DATABASE);
      else services.set('dna-index', 'up', `${b.profiles} profiles, built in ${(b.totalMs / 1000).toFixed(1)} s`);
      if (b.first) deps.firstReady();
    } else if (b.first) {
      log.error({ reason: b.error }, 'DNA index build failed; DNA requests wait in the queue');
      services.set('dna-index', 'down', `build failed, DNA requests wait in the queue: ${b.error}`);
    } else {
      log.error({ reason: b.error }, 'DNA index rebuild failed; the previous index stays in use');
      services.set('dna-index', 'degraded', `rebuild failed, the previous index answers: ${b.error}`);
    }
  };
}

/** An import applied to the index in use (no rebuild): logged, and the profile count on the service board. */
export function reportIndexDeltas(deps: { services: ServiceBoard; log: IndexLog }): (d: IndexDeltaOutcome) => void {
  const { services, log } = deps;
  return (d) => {
    if (!d.ok) {
      log.error({ reason: d.error }, 'DNA index update failed; it is applied again at the next check');
      return;
    }
    log.info({ generation: d.generation, added: d.added, removed: d.removed, profiles: d.profiles, ms: Math.round(d.totalMs), longestPageMs: Math.round(d.longestPageMs) }, 'DNA index updated from an import');
    if (d.profiles === 0) services.set('dna-index', 'degraded', EMPTY_DATABASE);
    else services.set('dna-index', 'up', `${d.profiles} profiles, generation ${d.generation}`);
  };
}
