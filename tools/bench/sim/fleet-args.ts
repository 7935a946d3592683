/** Option parsers of tools/bench/lanes.ts and tools/bench/capacity.ts: a bad value names the flag and what it wants (commander exits 1). */
import { InvalidArgumentError } from 'commander';
import { z } from 'zod';
import type { PriorityMix } from './fleet-model.js';

const fraction = z.coerce.number().gt(0).lt(1);

/** Comma-separated fractions in (0, 1), sorted, without repeats: --loads 0.5,0.9. */
export const fractionList = (flag: string) => (value: string): number[] => {
  const parsed = z.array(fraction).min(1).safeParse(value.split(',').map((v) => (v.trim() === '' ? Number.NaN : v.trim())));
  if (!parsed.success) throw new InvalidArgumentError(`${flag} must be comma-separated fractions between 0 and 1 (e.g. 0.5,0.9), got "${value}".`);
  return [...new Set(parsed.data)].sort((a, b) => a - b);
};

/** Comma-separated seconds >= 0, in the order given: --windows 0,1,20. */
export const secondsList = (flag: string) => (value: string): number[] => {
  const parsed = z.array(z.coerce.number().min(0).max(3600)).min(1).safeParse(value.split(',').map((v) => (v.trim() === '' ? Number.NaN : v.trim())));
  if (!parsed.success) throw new InvalidArgumentError(`${flag} must be comma-separated seconds from 0 to 3600 (e.g. 0,1,20), got "${value}".`);
  return [...new Set(parsed.data)];
};

const mixSchema = z
  .tuple([z.coerce.number().min(0), z.coerce.number().min(0), z.coerce.number().min(0)])
  .refine(([h, n, l]) => Math.abs(h + n + l - 100) < 1e-9, 'the three percentages must add up to 100');

/** --mix high,normal,low in percent, adding up to 100: 10,80,10. */
export const priorityMix = (flag: string) => (value: string): PriorityMix => {
  const parsed = mixSchema.safeParse(value.split(',').map((v) => v.trim()));
  if (!parsed.success) throw new InvalidArgumentError(`${flag} must be three percentages high,normal,low adding up to 100 (e.g. 10,80,10), got "${value}".`);
  const [high, normal, low] = parsed.data;
  return { high: high / 100, normal: normal / 100, low: low / 100 };
};

export const mixText = (mix: PriorityMix) => `${pctText(mix.high)} high, ${pctText(mix.normal)} normal, ${pctText(mix.low)} low`;
const pctText = (share: number) => `${Number((share * 100).toFixed(2))}%`;
