/** `capacity list` with fleets that report themselves: the presence in the rows, the source 'present' in the text. */
import { describe, expect, it } from 'vitest';
import { capacityTable, effectiveText } from '../../../tools/cli/capacity-table.js';
import { regionCapacities } from '../../../tools/ops/capacity-view.js';

const regions = [
  { region: 'us-east-1', configured: 1, depth: { visible: 0, inFlight: 0, delayed: 0 } },
  { region: 'us-west-2', configured: 2, depth: { visible: 4, inFlight: 9, delayed: 0 } },
  { region: 'us-west-1', configured: 4, depth: { visible: 0, inFlight: 0, delayed: 0 } },
];

describe('capacity list with presence', () => {
  const rows = regionCapacities(regions, [{ region: 'us-east-1', capacity: 5, setAt: 1_800_000_000_000, setBy: 'ops' }], [
    { region: 'us-east-1', live: 2, lapsed: 0 },
    { region: 'us-west-2', live: 3, lapsed: 1, liveUntil: 1_800_000_060_000 },
    { region: 'us-west-1', live: 0, lapsed: 2 },
  ]);

  it('keeps the presence of each region, and weighs by it unless a capacity is set', () => {
    expect(rows.map((r) => [r.region, r.presence?.live, r.effective])).toEqual([
      ['us-east-1', 2, { capacity: 5, source: 'set' }],
      ['us-west-2', 3, { capacity: 3, source: 'present' }],
      ['us-west-1', 0, { capacity: 0, source: 'present' }],
    ]);
  });

  it('says present, live and lapsed, and drained for a fleet with no live worker', () => {
    expect(rows.map(effectiveText)).toEqual(['5 (set)', '3 (present: 3 live, 1 lapsed)', '0 (present: 0 live, 2 lapsed: drained)']);
    expect(capacityTable(rows)[0]).toMatch(/^region\s+configured\s+waiting\s+in flight\s+weighed by\s+set$/);
  });

  it('shows a region without a presence item as before', () => {
    const [row] = regionCapacities(regions.slice(1, 2), []);
    expect(row?.presence).toBeNull();
    expect(effectiveText(row!)).toBe('9 (estimated: in flight with a backlog)');
  });
});
