/** Option parsers for the benches: a bad value names the flag and what it wants (commander exits 1). */
import { InvalidArgumentError } from 'commander';

export const wholeNumber = (flag: string, min: number, max = Number.MAX_SAFE_INTEGER) => (value: string) => {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < min || n > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `>= ${min}` : `from ${min} to ${max}`;
    throw new InvalidArgumentError(`${flag} must be a whole number ${range}, got "${value}".`);
  }
  return n;
};

export const secondsAtLeast = (flag: string, min: number, max = Number.POSITIVE_INFINITY) => (value: string) => {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n < min || n > max) {
    const range = Number.isFinite(max) ? `from ${min} to ${max}` : `>= ${min}`;
    throw new InvalidArgumentError(`${flag} must be a number of seconds ${range}, got "${value}".`);
  }
  return n;
};

/** Repeatable/comma-separated choice: --scenario a,b --scenario c. */
export const choices = (flag: string, allowed: readonly string[]) => (value: string, previous: string[] = []) => {
  const picked = value.split(',').map((v) => v.trim()).filter(Boolean);
  const unknown = picked.filter((v) => !allowed.includes(v));
  if (!picked.length || unknown.length) {
    throw new InvalidArgumentError(`${flag}: unknown "${unknown.join(', ') || value}"; choose from ${allowed.join(', ')}.`);
  }
  return [...previous, ...picked];
};
