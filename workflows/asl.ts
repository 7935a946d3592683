/**
 * Building blocks the sub-machines of the dispatch definition share: the definition's shape, a Task,
 * and the retriers of Lambda and service-integration errors.
 */

export type State = Record<string, unknown>;

export interface Definition {
  readonly Comment: string;
  readonly StartAt: string;
  readonly TimeoutSeconds: number;
  readonly States: Record<string, State>;
}

/** A Task with the bound every Task needs: the time budget refuses one without (workflows/time-budget.ts). */
export const task = (resource: string, timeoutSeconds: number) => ({
  Type: 'Task',
  Resource: resource,
  TimeoutSeconds: timeoutSeconds,
});

const LAMBDA_TRANSIENT = [
  'Lambda.ServiceException',
  'Lambda.AWSLambdaException',
  'Lambda.SdkClientException',
  'Lambda.TooManyRequestsException',
];

/**
 * Lambda errors that prove the function never ran (the invocation was throttled before it started).
 * Every other Lambda error (a service exception, an SDK client error, a runtime that died) may come
 * after the function did its work.
 */
export const LAMBDA_NOT_RUN = ['Lambda.TooManyRequestsException'];
/** Lambda errors of the invocation itself, which may come before or after the function ran. */
export const LAMBDA_ANSWER_LOST = LAMBDA_TRANSIENT.filter((name) => !LAMBDA_NOT_RUN.includes(name));

/** Retries of a function without side effects: any transient Lambda error. */
export const lambdaRetry = (maxAttempts: number, errors: readonly string[] = LAMBDA_TRANSIENT) =>
  maxAttempts ? [{ ErrorEquals: errors, IntervalSeconds: 1, MaxAttempts: maxAttempts, BackoffRate: 2, JitterStrategy: 'FULL' }] : [];

/** Retry any error of a service integration except the named ones, which are answers, not faults. */
export function serviceRetry(answers: readonly string[] = [], maxAttempts = 2) {
  return [
    ...(answers.length ? [{ ErrorEquals: answers, MaxAttempts: 0 }] : []),
    { ErrorEquals: ['States.ALL'], IntervalSeconds: 1, MaxAttempts: maxAttempts, BackoffRate: 2, JitterStrategy: 'FULL' },
  ];
}
