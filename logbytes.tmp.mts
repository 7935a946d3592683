import { startLocalStack } from '/work/main/local/stack.ts';
import { renderLogs } from '/work/main/bench/cost/measure.ts';
import { makeRequest } from '/work/main/cli/requests.ts';
import { sqsAt } from '/work/main/local/resources.ts';
import { SendMessageBatchCommand } from '@aws-sdk/client-sqs';
import { localDefinition } from '/work/main/local/dispatch.ts';
const stack = await startLocalStack({ batchWindowSeconds: 1, pollers: 1 });
const d = stack.description;
const home = sqsAt('us-east-1', d.endpoints.sqs['us-east-1']);
await home.send(new SendMessageBatchCommand({ QueueUrl: d.masterQueueUrl, Entries: Array.from({length:10},(_, i)=>({Id:String(i), MessageBody: JSON.stringify(makeRequest(i, {requestId:`req-log-${i}`}))})) }));
await new Promise(r=>setTimeout(r,4000));
const ex = stack.stepFunctions.executions().at(-1)!;
const { data } = renderLogs({ ...ex, executionArn: ex.executionArn } as any, localDefinition(stack.resources));
const byState = new Map<string, number>();
let total = 0;
for (const r of data) {
  const b = Buffer.byteLength(JSON.stringify(r));
  total += b;
  const name = (r as any).details?.name ?? (r as any).type;
  byState.set(name, (byState.get(name) ?? 0) + b);
}
console.log('messages', (ex.input as any).messages.length, 'records', data.length, 'bytes', total, 'body bytes', JSON.stringify(makeRequest(0,{requestId:'x'})).length);
for (const [k,v] of [...byState].sort((a,b)=>b[1]-a[1]).slice(0,30)) console.log(String(v).padStart(8), k);
await stack.stop();
