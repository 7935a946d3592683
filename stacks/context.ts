/** The home region's account, partition and region, for ARNs that must be written before their resource exists. */
export interface HomeContext {
  readonly accountId: $util.Output<string>;
  readonly partition: $util.Output<string>;
  readonly region: $util.Output<string>;
}

export function homeContext(): HomeContext {
  return {
    accountId: aws.getCallerIdentityOutput({}).accountId,
    partition: aws.getPartitionOutput({}).partition,
    region: aws.getRegionOutput({}).region,
  };
}
