/**
 * Names of the stage's roles and of their permissions boundary: <app>-<stage>-<what>, exact (no random
 * suffix), so the deploy role names each role rather than a prefix that another stage's roles share
 * ("inference-dispatch-production-*" would also match every role of "production-eu").
 */

/** IAM's limit on a role's name. */
const ROLE_NAME_MAX = 64;

/** What a role is for: a function (intake, snapshot, select, forward), the state machine, the pipeline's deploys. */
export type RoleOf = 'intake' | 'snapshot' | 'select' | 'forward' | 'state-machine' | 'deploy';

export function roleName(what: RoleOf, stage: string = $app.stage, app: string = $app.name): string {
  const name = `${app}-${stage}-${what}`;
  if (name.length > ROLE_NAME_MAX) {
    throw new Error(`app "${app}" and stage "${stage}" make a role name too long for IAM (${name.length} > ${ROLE_NAME_MAX}): ${name}`);
  }
  return name;
}

/** The managed policy every role of the stage carries as its permissions boundary (the deploy role apart). */
export function boundaryName(stage: string = $app.stage, app: string = $app.name): string {
  return `${app}-${stage}-permissions-boundary`;
}

/** How many managed policies hold the deploy role's statements (stacks/policy-packing.ts). */
export const DEPLOY_POLICY_SLOTS = 5;

/** The deploy role's managed policies: <app>-<stage>-deploy-1 ... */
export function deployPolicyNames(stage: string = $app.stage, app: string = $app.name): string[] {
  return Array.from({ length: DEPLOY_POLICY_SLOTS }, (_, i) => `${roleName('deploy', stage, app)}-${i + 1}`);
}
