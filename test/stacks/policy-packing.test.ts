/** Packing the deploy role's statements into managed policies of IAM's size (stacks/policy-packing.ts). */
import { describe, expect, it } from 'vitest';
import { MANAGED_POLICY_MAX_CHARS, packStatements, UNUSED_SLOT } from '../../stacks/policy-packing.js';

const statement = (sid: string, chars: number) => ({ Sid: sid, Effect: 'Allow', Action: ['s3:GetObject'], Resource: ['x'.repeat(chars)] });

describe('packStatements', () => {
  it('keeps every statement, each policy within the limit, empty slots holding a no-op Deny', () => {
    const statements = [statement('A', 4000), statement('B', 3000), statement('C', 2500), statement('D', 100)];
    const documents = packStatements(statements, 4).map((d) => JSON.parse(d) as { Statement: Array<{ Sid: string }> });
    expect(documents).toHaveLength(4);
    for (const d of documents) expect(JSON.stringify(d).length).toBeLessThanOrEqual(MANAGED_POLICY_MAX_CHARS);
    const sids = documents.flatMap((d) => d.Statement.map((s) => s.Sid));
    expect(sids.filter((s) => s !== UNUSED_SLOT.Sid).sort()).toEqual(['A', 'B', 'C', 'D']);
    expect(sids).toContain(UNUSED_SLOT.Sid);
  });

  it('refuses statements that need more slots than given, naming the statement', () => {
    expect(() => packStatements([statement('A', 5000), statement('B', 5000)], 1)).toThrow(/"B"|"A"/);
    expect(() => packStatements([statement('Huge', 7000)], 5)).toThrow(/do not fit in 5 managed policies/);
  });
});
