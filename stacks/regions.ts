/**
 * One AWS provider per region that takes work. The home region uses the app's default provider
 * (sst.config.ts); every other region gets its own `aws.Provider`, passed as `{ provider }` to the
 * resources that live there, so one `sst deploy` creates every region's queues and alarms.
 */
import { DEFAULT_REGIONS, HOME_REGION, type RegionSpec } from '../core/topology.js';

export interface DeployRegion extends RegionSpec {
  /** Undefined in the home region: its resources use the default provider. */
  readonly provider: aws.Provider | undefined;
  /** Resource options that place a resource in this region. */
  readonly opts: { readonly provider?: aws.Provider };
  /** For logical names: us-west-2 -> UsWest2. */
  readonly pascal: string;
}

export function pascalRegion(region: string): string {
  return region
    .split('-')
    .map((part) => part.charAt(0).toUpperCase() + part.slice(1))
    .join('');
}

export function deployRegions(specs: readonly RegionSpec[] = DEFAULT_REGIONS): DeployRegion[] {
  if (!specs.some((spec) => spec.region === HOME_REGION)) {
    // The home region takes work too (as in the original system); its queue uses the default provider.
    throw new Error(`regions must include the home region ${HOME_REGION}`);
  }
  const app = $app.providers?.aws;
  const profile = typeof app === 'object' && app !== null && 'profile' in app ? (app.profile as string) : undefined;
  return specs.map((spec) => {
    const pascal = pascalRegion(spec.region);
    if (spec.region === HOME_REGION) return { ...spec, pascal, provider: undefined, opts: {} };
    const provider = new aws.Provider(`Aws${pascal}`, {
      region: spec.region as aws.Region,
      // Explicit providers do not inherit the default provider's settings: carry the profile and
      // the tags SST puts on everything it deploys.
      ...(profile ? { profile } : {}),
      defaultTags: { tags: { 'sst:app': $app.name, 'sst:stage': $app.stage } },
    });
    return { ...spec, pascal, provider, opts: { provider } };
  });
}
