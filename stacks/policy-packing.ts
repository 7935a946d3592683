/**
 * IAM caps a customer managed policy at 6,144 characters (whitespace not counted) and a role's inline
 * policies at 10,240 together; the deploy role names every resource of the stage by exact ARN, which
 * is more than either. So its statements are packed into a fixed number of managed policies, largest
 * first, each into the first that has room; a stage whose statements do not fit is refused at synthesis.
 */

/** IAM's limit on a managed policy document, in characters without whitespace. */
export const MANAGED_POLICY_MAX_CHARS = 6144;

/** A statement that changes nothing, for a policy left empty (a policy must hold one). */
export const UNUSED_SLOT = { Sid: 'UnusedSlot', Effect: 'Deny', Action: ['iam:PassRole'], Resource: ['arn:aws:iam::000000000000:role/unused-slot'] };

const size = (document: unknown) => JSON.stringify(document).length;
const documentOf = (statements: readonly unknown[]) => ({ Version: '2012-10-17', Statement: statements.length ? statements : [UNUSED_SLOT] });

/** The policy documents (JSON), `slots` of them, or an error when the statements need more. */
export function packStatements(statements: readonly unknown[], slots: number, max = MANAGED_POLICY_MAX_CHARS): string[] {
  const bins: unknown[][] = Array.from({ length: slots }, () => []);
  const bySize = [...statements].sort((a, b) => size(b) - size(a));
  for (const statement of bySize) {
    const bin = bins.find((candidate) => size(documentOf([...candidate, statement])) <= max);
    if (!bin) {
      throw new Error(
        `the deploy role's statements do not fit in ${slots} managed policies of ${max} characters ` +
          `(statement ${JSON.stringify((statement as { Sid?: string }).Sid)} of ${size(statement)}): add a slot in stacks/deploy-role.ts`,
      );
    }
    bin.push(statement);
  }
  return bins.map((bin) => JSON.stringify(documentOf(bin)));
}
