import { MatchEngine } from '../dna/engine.js';
import type { ProfileStore } from '../dna/store.js';

/**
 * The in-memory index over the national DNA store. Built on first use, so commands that only
 * queue a link test or export the audit log do not pay for it (44 s at 10 M profiles), and built
 * again when `pruem dna import` changed the store (its generation counter moved).
 */
export class NationalIndex {
  private engine: MatchEngine | null = null;
  private generation = -1;

  constructor(readonly store: ProfileStore) {}

  current(): MatchEngine {
    if (!this.engine) {
      this.generation = this.store.generation();
      this.engine = MatchEngine.build(this.store);
    }
    return this.engine;
  }

  /** Rebuilds when the store changed since the index was built; returns whether it did. */
  refresh(): boolean {
    if (!this.engine || this.store.generation() === this.generation) return false;
    this.engine = null;
    this.current();
    return true;
  }
}
