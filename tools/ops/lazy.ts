/** Clients made on first use, then reused: a Target makes none it is not asked for. */

/** Made on first use, then reused. */
export function once<T>(create: () => T): () => T {
  let made: T | undefined;
  return () => (made ??= create());
}

/** One per key, each made on first use, then reused. */
export function memo<T>(create: (key: string) => T): (key: string) => T {
  const made = new Map<string, T>();
  return (key) => {
    if (!made.has(key)) made.set(key, create(key));
    return made.get(key) as T;
  };
}
