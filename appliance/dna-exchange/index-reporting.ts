import type { ServiceBoard } from '../status/status.js';
import type { IndexBuildOutcome } from './national-index.js';

export interface IndexLog {
  info(fields: object, message: string): void;
  error(fields: object, message: string): void;
}

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
      if (b.profiles === 0) services.set('dna-index', 'degraded', 'the national DNA database is empty: every search is answered "no hit" (pruem dna import)');
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
