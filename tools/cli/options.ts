/** Option parsers: a bad value names the option and what it wants, and the command exits non-zero. */
import { InvalidArgumentError, Option } from 'commander';
import { PRIORITIES, type Priority } from '../../core/request.js';

export const positiveInt = (what: string, max = Number.MAX_SAFE_INTEGER) => (value: string) => {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < 1 || n > max) {
    throw new InvalidArgumentError(`${what} must be a whole number from 1 to ${max === Number.MAX_SAFE_INTEGER ? 'any' : max}.`);
  }
  return n;
};

export const nonNegativeInt = (what: string) => (value: string) => {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n)) throw new InvalidArgumentError(`${what} must be a whole number >= 0.`);
  return n;
};

export const seconds = (what: string) => (value: string) => {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n < 0) throw new InvalidArgumentError(`${what} must be a number of seconds >= 0.`);
  return n;
};

export const port = (value: string) => {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < 0 || n > 65000) throw new InvalidArgumentError('port must be from 0 (any free port) to 65000.');
  return n;
};

export const priority = (value: string): Priority => {
  if (!(PRIORITIES as readonly string[]).includes(value)) throw new InvalidArgumentError(`priority must be one of ${PRIORITIES.join(', ')}.`);
  return value as Priority;
};

export const queueUrl = (value: string) => {
  try {
    const url = new URL(value);
    if (!/^https?:$/.test(url.protocol) || url.pathname.split('/').filter(Boolean).length < 2) throw new Error();
  } catch {
    throw new InvalidArgumentError(`"${value}" is not a queue URL (https://sqs.<region>.amazonaws.com/<account>/<name>).`);
  }
  return value;
};

/** The options every AWS-reaching command shares. */
export const awsOptions = () => [
  new Option('--stage <stage>', 'use a deployed stage instead of the local stack (its outputs: sst shell\'s link, .sst/outputs.json, or the stage\'s SSM parameter)'),
  new Option('--app <name>', 'the app\'s name, if it was deployed with DISPATCH_APP_NAME').env('DISPATCH_APP_NAME'),
  new Option('--profile <profile>', 'AWS profile of the standard credential chain'),
  new Option('--region <region>', 'AWS region (default: the queue URL\'s region, else us-east-1)'),
];
