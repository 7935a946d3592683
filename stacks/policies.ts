/**
 * Resource policies that refuse every request not made over TLS, on each queue and on the table.
 *
 * The statement is the one the SQS developer guide recommends under "Enforce encryption of data in
 * transit" (security best practices): Deny, Principal "*", every action of the service, on the resource
 * itself, when `aws:SecureTransport` is false. The same shape for DynamoDB (AWS's own sample of a
 * TLS-only resource control policy covers sqs:* and dynamodb:* alike).
 *
 * The wildcards are deliberate and the only ones in a resource policy here: a Deny must cover every
 * action, and every caller, to mean "nothing over plain HTTP". The policies hold no Allow: access stays
 * what the roles' identity policies grant (stacks/dispatch.ts, stacks/state-machine.ts), which a
 * resource policy without an Allow neither widens nor narrows within the account. The functions, the
 * state machine, the event source mapping and the console all call over HTTPS, so the Deny never
 * matches them.
 */

/** Statement id of the TLS-only Deny (test/stacks checks it by name). */
export const TLS_ONLY_SID = 'DenyInsecureTransport';

/** The policy document: one Deny of `<service>:*` on `resource` for requests not made over TLS. */
export function tlsOnlyPolicy(service: 'sqs' | 'dynamodb', resource: $util.Input<string>): $util.Output<string> {
  return $jsonStringify({
    // Stated explicitly: SQS may hang on a queue policy without it (aws.sqs.QueuePolicy documentation).
    Version: '2012-10-17',
    Statement: [
      {
        Sid: TLS_ONLY_SID,
        Effect: 'Deny',
        Principal: '*',
        Action: `${service}:*`,
        Resource: resource,
        Condition: { Bool: { 'aws:SecureTransport': 'false' } },
      },
    ],
  });
}

/** A queue's policy, created next to it: same region, same provider. */
export function tlsOnlyQueuePolicy(
  logicalName: string,
  queue: aws.sqs.Queue,
  opts: { readonly provider?: aws.Provider },
): aws.sqs.QueuePolicy {
  return new aws.sqs.QueuePolicy(`${logicalName}Policy`, { queueUrl: queue.url, policy: tlsOnlyPolicy('sqs', queue.arn) }, opts);
}

/** The table's resource policy (home region, default provider, as the table). */
export function tlsOnlyTablePolicy(logicalName: string, table: aws.dynamodb.Table): aws.dynamodb.ResourcePolicy {
  return new aws.dynamodb.ResourcePolicy(`${logicalName}Policy`, { resourceArn: table.arn, policy: tlsOnlyPolicy('dynamodb', table.arn) });
}
