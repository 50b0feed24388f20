import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ProfileStore } from '../../appliance/dna/store.js';
import { NationalIndex } from '../../appliance/dna-exchange/national-index.js';
import { syntheticProfiles } from '../../appliance/demo/seed.js';

test('the national index is built on first use and rebuilt only after the store changed', async () => {
  const store = ProfileStore.open(':memory:');
  try {
    await store.importLines(syntheticProfiles('DE', 50), { today: '2026-11-23' });
    const index = new NationalIndex(store);
    assert.equal(index.refresh(), false, 'nothing to refresh before the first build');
    const first = index.current();
    assert.equal(first.size, 51);
    assert.equal(index.refresh(), false, 'unchanged store: same index');
    assert.equal(index.current(), first);
    await store.importLines([JSON.stringify({ id: 'DE-NEW-1', type: 'P', agency: 'DE', loci: JSON.parse(syntheticProfiles('DE', 1)[0]!).loci })], { today: '2026-11-23' });
    assert.equal(index.refresh(), true);
    assert.equal(index.current().size, 52);
  } finally {
    store.close();
  }
});
