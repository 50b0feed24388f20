/**
 * Worker thread entry (started by worker-build.ts): builds the match engine from the store file and posts it
 * to the parent as transferable state, so the daemon's thread never spends the build time (~4 s per million
 * profiles) and receives the index without a copy. Exits when posted; the parent treats any exit without a
 * message as a failed build.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { buildFromStoreFile } from './store-snapshot.js';
import type { IndexWorkerData, IndexWorkerMessage } from './worker-build.js';

const port = parentPort;
if (!port) throw new Error('index-worker runs in a worker thread (see worker-build.ts)');
const { path, options } = workerData as IndexWorkerData;
let message: IndexWorkerMessage;
let transfer: ArrayBuffer[] = [];
try {
  const built = buildFromStoreFile(path, options);
  const exported = built.engine.toTransfer();
  transfer = exported.transfer;
  message = { ok: true, state: exported.state, generation: built.generation, buildMs: built.buildMs };
} catch (error) {
  message = { ok: false, error: error instanceof Error ? error.message : String(error) };
}
port.postMessage(message, transfer);
