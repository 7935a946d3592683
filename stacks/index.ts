/** The whole stage, wired: regions -> queues and table -> dispatcher -> monitoring -> outputs. */
import { HOME_REGION, resourceNames } from '../core/topology.js';
import { homeContext } from './context.js';
import { createDeployRole } from './deploy-role.js';
import { createDispatch } from './dispatch.js';
import { createMonitoring } from './monitoring.js';
import { applyPermissionsBoundary } from './permissions-boundary.js';
import { deployTrust, PIPELINE } from './pipeline.js';
import { stageOutputs } from './outputs.js';
import { createQueues } from './queues.js';
import { deployRegions } from './regions.js';
import { boundaryName } from './role-names.js';
import { dashboardEnabled, recordLifetimeSettings } from './settings.js';
import { stageArns } from './stage-arns.js';
import { createTable, recordLifetime } from './table.js';

export function deployStage() {
  const app = $app.providers?.aws;
  const region = typeof app === 'object' && app !== null && 'region' in app ? app.region : undefined;
  if (region !== HOME_REGION) {
    throw new Error(`sst.config.ts must deploy to the home region ${HOME_REGION} (core/topology.ts), not ${String(region)}`);
  }
  const names = resourceNames($app.stage, $app.name);
  // The pipeline's stage trusts one repository: refused before anything is created when none is set.
  const trust = $app.stage === PIPELINE.stage ? deployTrust(process.env) : undefined;
  const home = homeContext();
  const regions = deployRegions();
  const arns = stageArns($app.name, $app.stage, home, regions.map((r) => r.region));
  // Before any role exists: every role created from here on carries the stage's boundary.
  applyPermissionsBoundary(boundaryName(), arns, home);
  // The pipeline's stage also holds the role the pipeline deploys with (set it as the GitHub
  // variable DEPLOY_ROLE_ARN after the first, manual, deployment: docs/deploy.md).
  const pipeline = trust ? createDeployRole(home, regions.map((r) => r.region), arns, trust) : undefined;
  const queues = createQueues(names, regions);
  // Records must outlive every copy a queue can hold: a stage set otherwise is refused here.
  const lifetime = recordLifetime(queues.retentions, recordLifetimeSettings(process.env));
  const table = createTable(names);
  const dispatch = createDispatch({ names, queues, table, home, lifetime });
  const monitoring = createMonitoring({
    names,
    regions,
    queues,
    dispatch,
    alarmKeys: { accountId: home.accountId, partition: home.partition, alarmsIn: arns.alarmsIn, deployRoleArn: pipeline?.role.arn },
    withDashboard: dashboardEnabled(process.env),
  });
  const outputs = stageOutputs({ queues, table, dispatch, monitoring });
  // `sst shell` exposes linked resources to the command it runs as SST_RESOURCE_<name>.
  // A copy: SST adds its own keys (_protect) to the returned outputs.
  new sst.Linkable('Dispatch', { properties: { ...outputs } });
  // The same outputs where the CLI finds any stage by name (`--stage`), whichever was deployed last.
  // Intelligent tiering: standard (free) while the value fits 4 KB, advanced beyond.
  new aws.ssm.Parameter('OutputsParameter', {
    name: names.outputsParameter,
    description: `Outputs of ${$app.name} stage ${$app.stage}, read by the dispatch CLI`,
    type: 'String',
    tier: 'Intelligent-Tiering',
    value: $jsonStringify(outputs),
  });
  return pipeline ? { ...outputs, deployRoleArn: pipeline.role.arn } : outputs;
}
