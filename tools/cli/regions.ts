/** A region flag's value must be one of the configured regions. */
import { InvalidArgumentError } from 'commander';
import { DEFAULT_REGIONS } from '../../core/topology.js';

export const regionNameFor = (value: string): string => {
  const names = DEFAULT_REGIONS.map((r) => r.region);
  if (!names.includes(value)) throw new InvalidArgumentError(`region must be one of ${names.join(', ')}.`);
  return value;
};
