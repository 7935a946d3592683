/** cli/id-list.ts: how the reports of `dlq` and `redrive` list request_ids. */
import { describe, expect, it } from 'vitest';
import { formatIdList } from '../../../tools/cli/id-list.js';

describe('formatIdList', () => {
  it('cuts long lists unless --full', () => {
    const ids = Array.from({ length: 12 }, (_, i) => `r${i}`);
    expect(formatIdList(ids, false)).toBe('r0, r1, r2, r3, r4, r5, r6, r7, r8, r9 ... and 2 more (--full to show all)');
    expect(formatIdList(ids, true)).toBe(ids.join(', '));
    expect(formatIdList(['a', 'b'], false)).toBe('a, b');
  });
});
