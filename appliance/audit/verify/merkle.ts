import { EMPTY_ROOT, HASH_BYTES, leafHash, nodeHash } from '../merkle.js';
import { LIMITS } from './format.js';

/**
 * RFC 9162 §2.1 proof verification. The hashing rules (leaf, node, empty root) are the daemon's
 * own audit/merkle.ts, bundled into the verifier: one implementation of the tree for the log that
 * writes and the auditor who checks.
 */
export { EMPTY_ROOT, leafHash, nodeHash };

function isHash(value: unknown): value is Uint8Array {
  return value instanceof Uint8Array && value.length === HASH_BYTES;
}

function isSize(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

/** Integer halving without 32-bit bitwise operators (sizes may exceed 2^31). */
function half(x: number): number {
  return Math.floor(x / 2);
}

function odd(x: number): boolean {
  return x % 2 === 1;
}

function isPowerOfTwo(n: number): boolean {
  if (n < 1) return false;
  while (n > 1) {
    if (odd(n)) return false;
    n = half(n);
  }
  return true;
}

/**
 * RFC 9162 §2.1.3.2: verify that `leaf` (a leaf hash) is at `index` in the tree of `size` leaves
 * whose root is `root`, using the audit path `proof`. Returns a boolean; never throws.
 */
export function verifyInclusion(leaf: unknown, index: unknown, size: unknown, proof: unknown, root: unknown): boolean {
  if (!isHash(leaf) || !isHash(root) || !isSize(index) || !isSize(size) || !Array.isArray(proof)) return false;
  if (index >= size || proof.length > LIMITS.maxProofHashes) return false;
  let fn = index;
  let sn = size - 1;
  let r: Buffer = Buffer.from(leaf);
  for (const p of proof as unknown[]) {
    if (!isHash(p) || sn === 0) return false;
    if (odd(fn) || fn === sn) {
      r = nodeHash(p, r);
      if (!odd(fn)) {
        while (!odd(fn) && fn !== 0) {
          fn = half(fn);
          sn = half(sn);
        }
      }
    } else {
      r = nodeHash(r, p);
    }
    fn = half(fn);
    sn = half(sn);
  }
  return sn === 0 && r.equals(Buffer.from(root));
}

/**
 * RFC 9162 §2.1.4.2: verify that the tree of `first` leaves with root `firstRoot` is a prefix of the
 * tree of `second` leaves with root `secondRoot`. Returns a boolean; never throws.
 */
export function verifyConsistency(first: unknown, second: unknown, firstRoot: unknown, secondRoot: unknown, proof: unknown): boolean {
  if (!isSize(first) || !isSize(second) || !isHash(firstRoot) || !isHash(secondRoot) || !Array.isArray(proof)) return false;
  if (first > second || proof.length > LIMITS.maxProofHashes) return false;
  const hashes = proof as unknown[];
  if (!hashes.every(isHash)) return false;
  const a = Buffer.from(firstRoot);
  const b = Buffer.from(secondRoot);
  if (first === second) return hashes.length === 0 && a.equals(b);
  if (first === 0) return hashes.length === 0 && a.equals(EMPTY_ROOT); // the empty tree is a prefix of every tree
  if (hashes.length === 0) return false;
  let path = (hashes as Uint8Array[]).map((p) => Buffer.from(p));
  if (isPowerOfTwo(first)) path = [a, ...path];
  let fn = first - 1;
  let sn = second - 1;
  while (odd(fn)) {
    fn = half(fn);
    sn = half(sn);
  }
  const [head, ...rest] = path as [Buffer, ...Buffer[]];
  let fr = head;
  let sr = head;
  for (const c of rest) {
    if (sn === 0) return false;
    if (odd(fn) || fn === sn) {
      fr = nodeHash(c, fr);
      sr = nodeHash(c, sr);
      if (!odd(fn)) {
        while (!odd(fn) && fn !== 0) {
          fn = half(fn);
          sn = half(sn);
        }
      }
    } else {
      sr = nodeHash(sr, c);
    }
    fn = half(fn);
    sn = half(sn);
  }
  return fr.equals(a) && sr.equals(b) && sn === 0;
}

/**
 * Streaming Merkle tree hash: push leaf hashes in order, then root(). Keeps O(log n) memory,
 * so a period of millions of entries can be recomputed from its export.
 */
export class TreeBuilder {
  /** perfect subtrees, left to right, sizes strictly decreasing */
  private readonly stack: { hash: Buffer; size: number }[] = [];
  size = 0;

  push(hash: Buffer): void {
    let node = { hash, size: 1 };
    let top = this.stack[this.stack.length - 1];
    while (top !== undefined && top.size === node.size) {
      this.stack.pop();
      node = { hash: nodeHash(top.hash, node.hash), size: node.size * 2 };
      top = this.stack[this.stack.length - 1];
    }
    this.stack.push(node);
    this.size += 1;
  }

  root(): Buffer {
    const last = this.stack[this.stack.length - 1];
    if (last === undefined) return EMPTY_ROOT;
    let r = last.hash;
    for (let i = this.stack.length - 2; i >= 0; i--) r = nodeHash((this.stack[i] as { hash: Buffer }).hash, r);
    return r;
  }
}
