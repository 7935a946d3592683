/**
 * One customer managed KMS key per region for that region's alarm topic. CloudWatch cannot publish to
 * a topic under the AWS managed key aws/sns (its policy cannot be edited to let CloudWatch in), so the
 * topic gets a key of its own whose policy does, for this account's alarms of this stage in this
 * region only (aws:SourceAccount, aws:SourceArn). Yearly rotation on. Cost: docs/deploy.md.
 */
import { DEPLOY_KMS_ACTIONS } from './pipeline.js';
import type { DeployRegion } from './regions.js';

/** What CloudWatch needs of the key to publish to the topic (SNS developer guide, "Key management"). */
export const CLOUDWATCH_KEY_ACTIONS = ['kms:Decrypt', 'kms:GenerateDataKey*'];

export interface AlarmKeyArgs {
  readonly accountId: $util.Input<string>;
  readonly partition: $util.Input<string>;
  /** The ARNs of the stage's alarms in a region (stacks/stage-arns.ts alarmsIn). */
  readonly alarmsIn: (region: string) => $util.Input<string>[];
  /** The pipeline's deploy role, in the pipeline's stage: it administers the keys through their policy. */
  readonly deployRoleArn?: $util.Input<string>;
}

export function alarmKeyPolicy(region: string, args: AlarmKeyArgs): $util.Output<string> {
  return $jsonStringify({
    Version: '2012-10-17',
    Statement: [
      {
        // AWS's default key policy: the account's IAM policies decide who else may use the key.
        Sid: 'AccountAdministers',
        Effect: 'Allow',
        Principal: { AWS: $interpolate`arn:${args.partition}:iam::${args.accountId}:root` },
        Action: 'kms:*',
        Resource: '*',
      },
      {
        Sid: 'CloudWatchPublishesThisStagesAlarms',
        Effect: 'Allow',
        Principal: { Service: 'cloudwatch.amazonaws.com' },
        Action: CLOUDWATCH_KEY_ACTIONS,
        Resource: '*',
        Condition: {
          StringEquals: { 'aws:SourceAccount': args.accountId },
          ArnLike: { 'aws:SourceArn': args.alarmsIn(region) },
        },
      },
      ...(args.deployRoleArn
        ? [
            {
              Sid: 'DeployRoleAdministersThisKey',
              Effect: 'Allow',
              Principal: { AWS: args.deployRoleArn },
              Action: [...DEPLOY_KMS_ACTIONS.administer],
              Resource: '*',
            },
          ]
        : []),
    ],
  });
}

export function createAlarmKey(name: string, region: DeployRegion, args: AlarmKeyArgs): aws.kms.Key {
  return new aws.kms.Key(
    `AlarmKey${region.pascal}`,
    {
      description: `${name}: encrypts the alarm topic of ${$app.name} stage ${$app.stage} in ${region.region}`,
      enableKeyRotation: true,
      deletionWindowInDays: 30,
      policy: alarmKeyPolicy(region.region, args),
    },
    region.opts,
  );
}
