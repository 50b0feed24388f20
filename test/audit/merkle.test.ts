import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  EMPTY_ROOT,
  MemoryNodes,
  PackedNodes,
  consistencyPath,
  inclusionPath,
  leafHash,
  nodeHash,
  rootHash,
} from '../../appliance/audit/merkle.js';
import * as V from '../../appliance/audit/verify-audit.mjs';

// Reference data from Certificate Transparency (google/certificate-transparency,
// cpp/merkletree/merkle_tree_test.cc; the same vectors appear in RFC 6962 implementations such as
// transparency-dev/merkle): eight leaves, the tree head for every size, two audit paths and two
// consistency proofs.
const LEAVES = ['', '00', '10', '2021', '3031', '40414243', '5051525354555657', '606162636465666768696a6b6c6d6e6f'].map((h) =>
  Buffer.from(h, 'hex'),
);
const ROOTS = [
  '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
  'fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125',
  'aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77',
  'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
  '4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4',
  '76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef',
  'ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c',
  '5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328',
];
const INCLUSION = [
  { index: 0, size: 8, path: ['96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7', '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e', '6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4'] },
  { index: 5, size: 8, path: ['bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b', 'ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0', 'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7'] },
];
const CONSISTENCY = [
  { first: 2, second: 8, path: ['5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e', '6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4'] },
  { first: 6, second: 8, path: ['0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a', 'ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0', 'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7'] },
];

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const leafHashes = LEAVES.map((l) => leafHash(l));

test('tree heads match the Certificate Transparency reference for every size', () => {
  assert.equal(hex(EMPTY_ROOT), 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
  const nodes = MemoryNodes.fromLeaves(leafHashes);
  for (let n = 1; n <= 8; n++) assert.equal(hex(rootHash(nodes, n)), ROOTS[n - 1], `size ${n}`);
  // The offline verifier's streaming builder agrees.
  const b = new V.TreeBuilder();
  leafHashes.forEach((h, i) => {
    b.push(h);
    assert.equal(hex(b.root()), ROOTS[i]);
  });
});

test('inclusion and consistency proofs match the reference and verify', () => {
  const nodes = MemoryNodes.fromLeaves(leafHashes);
  for (const v of INCLUSION) {
    const path = inclusionPath(nodes, v.index, v.size);
    assert.deepEqual(path.map(hex), v.path);
    assert.equal(V.verifyInclusion(leafHashes[v.index]!, v.index, v.size, path, Buffer.from(ROOTS[v.size - 1]!, 'hex')), true);
  }
  for (const v of CONSISTENCY) {
    const path = consistencyPath(nodes, v.first, v.second);
    assert.deepEqual(path.map(hex), v.path);
    assert.equal(V.verifyConsistency(v.first, v.second, Buffer.from(ROOTS[v.first - 1]!, 'hex'), Buffer.from(ROOTS[v.second - 1]!, 'hex'), path), true);
  }
});

/** Straight from the RFC's recursive definition, as an independent oracle. */
function mth(leaves: Buffer[]): Buffer {
  if (leaves.length === 0) return EMPTY_ROOT;
  if (leaves.length === 1) return leaves[0]!;
  let k = 1;
  while (k * 2 < leaves.length) k *= 2;
  return nodeHash(mth(leaves.slice(0, k)), mth(leaves.slice(k)));
}

test('every proof of every tree up to 40 leaves verifies, and every mutation of it fails', () => {
  const leaves = Array.from({ length: 40 }, (_, i) => leafHash(Buffer.from(`entry ${i}`)));
  const nodes = MemoryNodes.fromLeaves(leaves);
  const roots = [EMPTY_ROOT, ...leaves.map((_, i) => rootHash(nodes, i + 1))];
  for (let n = 1; n <= leaves.length; n++) {
    assert.equal(hex(roots[n]!), hex(mth(leaves.slice(0, n))), `root ${n}`);
    for (let i = 0; i < n; i++) {
      const path = inclusionPath(nodes, i, n);
      assert.equal(V.verifyInclusion(leaves[i]!, i, n, path, roots[n]!), true, `inclusion ${i}/${n}`);
      if (n > 1) assert.equal(V.verifyInclusion(leaves[(i + 1) % n]!, i, n, path, roots[n]!), false, 'another leaf');
      if (path.length > 0) {
        const flipped = path.map((p) => Buffer.from(p));
        flipped[0]![0]! ^= 1;
        assert.equal(V.verifyInclusion(leaves[i]!, i, n, flipped, roots[n]!), false, 'flipped');
        assert.equal(V.verifyInclusion(leaves[i]!, i, n, path.slice(1), roots[n]!), false, 'truncated');
        assert.equal(V.verifyInclusion(leaves[i]!, i, n, [...path, leaves[0]!], roots[n]!), false, 'extended');
      }
    }
    for (let m = 0; m <= n; m++) {
      const path = consistencyPath(nodes, m, n);
      assert.equal(V.verifyConsistency(m, n, roots[m]!, roots[n]!, path), true, `consistency ${m}->${n}`);
      if (m > 0 && m < n) {
        assert.equal(V.verifyConsistency(m, n, roots[m - 1]!, roots[n]!, path), false, 'wrong old root');
        const flipped = path.map((p) => Buffer.from(p));
        flipped[flipped.length - 1]![5]! ^= 1;
        assert.equal(V.verifyConsistency(m, n, roots[m]!, roots[n]!, flipped), false, 'flipped');
        assert.equal(V.verifyConsistency(m, n, roots[m]!, roots[n]!, path.slice(0, -1)), false, 'truncated');
      }
    }
  }
});

test('verifiers reject malformed, attacker-supplied numbers and hashes without throwing', () => {
  const nodes = MemoryNodes.fromLeaves(leafHashes);
  const path = inclusionPath(nodes, 5, 8);
  const root = Buffer.from(ROOTS[7]!, 'hex');
  assert.equal(V.verifyInclusion(leafHashes[5]!, 8, 8, path, root), false);
  assert.equal(V.verifyInclusion(leafHashes[5]!, -1, 8, path, root), false);
  assert.equal(V.verifyInclusion(leafHashes[5]!, 5.5, 8, path, root), false);
  assert.equal(V.verifyInclusion(leafHashes[5]!, 5, Number.MAX_SAFE_INTEGER + 2, path, root), false);
  assert.equal(V.verifyInclusion(Buffer.alloc(31), 5, 8, path, root), false);
  assert.equal(V.verifyInclusion(leafHashes[5]!, 5, 8, 'nope', root), false);
  assert.equal(V.verifyInclusion(leafHashes[5]!, 5, 8, Array(65).fill(root), root), false);
  assert.equal(V.verifyConsistency(8, 6, root, root, []), false);
  assert.equal(V.verifyConsistency(0, 8, EMPTY_ROOT, root, []), true);
  assert.equal(V.verifyConsistency(0, 8, root, root, []), false);
  assert.equal(V.verifyConsistency(4, 4, root, root, [root]), false);
  // Sizes beyond 2^32 use arithmetic, not 32-bit bit operations.
  assert.equal(V.verifyInclusion(leafHashes[0]!, 2 ** 33, 2 ** 33 + 1, [root], nodeHash(root, leafHashes[0]!)), true);
});

test('packed nodes give the same roots and proofs, and notice a missing node', () => {
  const leaves = Array.from({ length: 23 }, (_, i) => leafHash(Buffer.from([i])));
  const mem = MemoryNodes.fromLeaves(leaves);
  const packed = new PackedNodes(23);
  for (let level = 0, width = 1; width <= 23; level++, width *= 2) {
    for (let i = 0; i < Math.floor(23 / width); i++) packed.set(level, i, mem.node(level, i));
  }
  assert.equal(packed.complete(), true);
  assert.equal(hex(rootHash(packed, 23)), hex(rootHash(mem, 23)));
  assert.deepEqual(inclusionPath(packed, 17, 23).map(hex), inclusionPath(mem, 17, 23).map(hex));
  const partial = new PackedNodes(4);
  partial.set(0, 0, leaves[0]!);
  assert.equal(partial.complete(), false);
  assert.throws(() => partial.node(0, 4), RangeError);
});
