/**
 * The stage's alarms, for the smoke command: every alarm of a stage notifies its own region's alarm
 * topic (stacks/monitoring.ts), so DescribeAlarms filtered by that topic (ActionPrefix) in each region
 * lists exactly the stage's alarms, whatever they are named. The local stack has no alarms.
 */
import { DescribeAlarmsCommand, type MetricAlarm } from '@aws-sdk/client-cloudwatch';
import type { Target } from './target.js';

export interface AlarmState {
  readonly region: string;
  readonly name: string;
  /** OK, ALARM or INSUFFICIENT_DATA (not evaluated yet: a new alarm, or no data with missing data not treated). */
  readonly state: string;
  readonly reason?: string;
}

export type AlarmsRead =
  | { readonly kind: 'local' }
  | { readonly kind: 'aws'; readonly alarms: readonly AlarmState[]; readonly errors: readonly string[] };

export async function readAlarms(target: Pick<Target, 'kind' | 'alarmTopicArns' | 'cloudwatch'>): Promise<AlarmsRead> {
  if (target.kind === 'local') return { kind: 'local' };
  const topics = Object.entries(target.alarmTopicArns ?? {});
  if (!topics.length || !target.cloudwatch) return { kind: 'aws', alarms: [], errors: ['the stage\'s outputs name no alarm topics'] };
  const alarms: AlarmState[] = [];
  const errors: string[] = [];
  await Promise.all(
    topics.map(async ([region, topicArn]) => {
      try {
        let token: string | undefined;
        do {
          const page = await target.cloudwatch!(region).send(
            new DescribeAlarmsCommand({ ActionPrefix: topicArn, AlarmTypes: ['MetricAlarm', 'CompositeAlarm'], ...(token ? { NextToken: token } : {}) }),
          );
          const all: Array<Pick<MetricAlarm, 'AlarmName' | 'StateValue' | 'StateReason'>> = [...(page.MetricAlarms ?? []), ...(page.CompositeAlarms ?? [])];
          for (const alarm of all) {
            alarms.push({ region, name: alarm.AlarmName ?? '?', state: alarm.StateValue ?? '?', ...(alarm.StateReason ? { reason: alarm.StateReason } : {}) });
          }
          token = page.NextToken;
        } while (token);
      } catch (error) {
        errors.push(`${region}: ${(error as Error).name}: ${(error as Error).message}`);
      }
    }),
  );
  alarms.sort((a, b) => a.region.localeCompare(b.region) || a.name.localeCompare(b.name));
  return { kind: 'aws', alarms, errors };
}
