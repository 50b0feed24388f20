import { createHash } from 'node:crypto';

/**
 * RFC 9162 §2.1 Merkle Tree Hash over audit log leaves, built incrementally from stored perfect
 * subtrees. The verification side is verify/merkle.ts, bundled with these hashing rules into
 * verify-audit.mjs (the file auditors run); this module produces hashes and proofs, and the tests
 * check each against the other.
 */

export const HASH_BYTES = 32;

/** SHA-256(0x00 ‖ leaf) */
export function leafHash(data: Uint8Array): Buffer {
  return createHash('sha256').update(Buffer.from([0])).update(data).digest();
}

/** SHA-256(0x01 ‖ left ‖ right) */
export function nodeHash(left: Uint8Array, right: Uint8Array): Buffer {
  return createHash('sha256').update(Buffer.from([1])).update(left).update(right).digest();
}

export const EMPTY_ROOT: Buffer = createHash('sha256').digest();

/**
 * Where perfect subtree hashes come from: node(level, index) is the hash of the 2^level leaves
 * starting at index·2^level (level 0: the leaf hashes). Stored by the log so that roots and proofs
 * cost O(log n) lookups instead of a rebuild.
 */
export interface NodeSource {
  node(level: number, index: number): Uint8Array;
}

export interface StoredNode {
  readonly level: number;
  readonly index: number;
  readonly hash: Buffer;
}

/** The largest power of two strictly smaller than n (n ≥ 2), the RFC's split point k. */
export function splitPoint(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

function log2IfPowerOfTwo(n: number): number | undefined {
  let level = 0;
  let k = 1;
  while (k < n) {
    k *= 2;
    level += 1;
  }
  return k === n ? level : undefined;
}

/** MTH(D[start:end]) from stored perfect subtrees. */
export function subtreeHash(src: NodeSource, start: number, end: number): Buffer {
  const n = end - start;
  if (n <= 0) return EMPTY_ROOT;
  const level = log2IfPowerOfTwo(n);
  if (level !== undefined && start % n === 0) return Buffer.from(src.node(level, start / n));
  const k = splitPoint(n);
  return nodeHash(subtreeHash(src, start, start + k), subtreeHash(src, start + k, end));
}

export function rootHash(src: NodeSource, size: number): Buffer {
  return subtreeHash(src, 0, size);
}

/** RFC 9162 §2.1.3.1 PATH(m, D[n]): the audit path of leaf `index` in the tree of `size` leaves. */
export function inclusionPath(src: NodeSource, index: number, size: number): Buffer[] {
  if (!Number.isSafeInteger(index) || !Number.isSafeInteger(size) || index < 0 || index >= size) {
    throw new RangeError(`leaf ${index} is not in a tree of ${size}`);
  }
  const path: Buffer[] = [];
  // Iterative form of the RFC's recursion; siblings are collected top-down, so reverse at the end.
  let start = 0;
  let end = size;
  let m = index;
  while (end - start > 1) {
    const k = splitPoint(end - start);
    if (m < k) {
      path.push(subtreeHash(src, start + k, end));
      end = start + k;
    } else {
      path.push(subtreeHash(src, start, start + k));
      start += k;
      m -= k;
    }
  }
  return path.reverse();
}

/** RFC 9162 §2.1.4.1 PROOF(m, D[n]): consistency of the first `first` leaves with the first `second`. */
export function consistencyPath(src: NodeSource, first: number, second: number): Buffer[] {
  if (!Number.isSafeInteger(first) || !Number.isSafeInteger(second) || first < 0 || first > second) {
    throw new RangeError(`no consistency proof from ${first} to ${second}`);
  }
  if (first === 0 || first === second) return [];
  const path: Buffer[] = [];
  let start = 0;
  let end = second;
  let m = first;
  let complete = true; // the RFC's b: whether the subtree at hand is a complete prefix of the old tree
  for (;;) {
    const n = end - start;
    if (m === n) {
      if (!complete) path.push(subtreeHash(src, start, end));
      break;
    }
    const k = splitPoint(n);
    if (m <= k) {
      path.push(subtreeHash(src, start + k, end));
      end = start + k;
    } else {
      path.push(subtreeHash(src, start, start + k));
      start += k;
      m -= k;
      complete = false;
    }
  }
  return path.reverse();
}

/**
 * The nodes to store when leaf number `size` (0-based position) with hash `leaf` is appended:
 * the leaf itself and every perfect subtree it completes. Reads only left siblings, so appending
 * costs O(log n) in the worst case and O(1) on average.
 */
export function nodesForAppend(src: NodeSource, size: number, leaf: Buffer): StoredNode[] {
  const out: StoredNode[] = [{ level: 0, index: size, hash: leaf }];
  let level = 0;
  let index = size;
  let hash = leaf;
  while (index % 2 === 1) {
    hash = nodeHash(src.node(level, index - 1), hash);
    level += 1;
    index = (index - 1) / 2;
    out.push({ level, index, hash });
  }
  return out;
}

/** A NodeSource held in memory: for tests, and for exports that need many proofs from one period. */
export class MemoryNodes implements NodeSource {
  private readonly levels: Buffer[][] = [];

  static fromLeaves(leaves: readonly Uint8Array[]): MemoryNodes {
    const nodes = new MemoryNodes();
    leaves.forEach((leaf, i) => {
      for (const n of nodesForAppend(nodes, i, Buffer.from(leaf))) nodes.set(n.level, n.index, n.hash);
    });
    return nodes;
  }

  set(level: number, index: number, hash: Buffer): void {
    let row = this.levels[level];
    if (row === undefined) {
      row = [];
      this.levels[level] = row;
    }
    row[index] = hash;
  }

  node(level: number, index: number): Buffer {
    const hash = this.levels[level]?.[index];
    if (hash === undefined) throw new RangeError(`no stored node at level ${level}, index ${index}`);
    return hash;
  }
}

/**
 * A period's nodes packed into one buffer per level: loading a million-leaf tree costs ~64 MB
 * instead of millions of small Buffer objects.
 */
export class PackedNodes implements NodeSource {
  private readonly levels: Buffer[];
  private readonly filled: number[];

  /** `size` leaves: level L holds floor(size / 2^L) perfect subtrees. */
  constructor(readonly size: number) {
    this.levels = [];
    this.filled = [];
    for (let width = 1; width <= size; width *= 2) {
      this.levels.push(Buffer.alloc(Math.floor(size / width) * HASH_BYTES));
      this.filled.push(0);
    }
  }

  set(level: number, index: number, hash: Uint8Array): void {
    const buf = this.levels[level];
    if (!buf || (index + 1) * HASH_BYTES > buf.length || hash.length !== HASH_BYTES) throw new RangeError(`no slot for node ${level}/${index}`);
    buf.set(hash, index * HASH_BYTES);
    this.filled[level] = (this.filled[level] ?? 0) + 1;
  }

  /** True when every slot was set exactly once (a missing row would otherwise read as zeros). */
  complete(): boolean {
    return this.levels.every((b, l) => this.filled[l] === b.length / HASH_BYTES);
  }

  node(level: number, index: number): Buffer {
    const buf = this.levels[level];
    if (!buf || (index + 1) * HASH_BYTES > buf.length) throw new RangeError(`no stored node at level ${level}, index ${index}`);
    return buf.subarray(index * HASH_BYTES, (index + 1) * HASH_BYTES);
  }
}
