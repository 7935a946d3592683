/**
 * M/M/c by the Erlang C formula: the known answer the simulator is checked against
 * (test/tools/bench/sim.test.ts), and the reference line the bench prints beside the oracle. Pure.
 */

/** Probability that an arrival waits in M/M/c with offered load a = arrivals / service rate (a < c). */
export function erlangC(servers: number, offeredLoad: number): number {
  if (!(servers >= 1 && Number.isInteger(servers))) throw new Error(`servers must be a whole number >= 1, got ${servers}`);
  if (!(offeredLoad >= 0 && offeredLoad < servers)) throw new Error(`offered load must be in [0, servers), got ${offeredLoad}`);
  // Sum of a^k / k! for k < c, and a^c / c!, built term by term (no factorial overflow).
  let term = 1;
  let sum = 0;
  for (let k = 0; k < servers; k++) {
    if (k > 0) term *= offeredLoad / k;
    sum += term;
  }
  const waiting = ((term * offeredLoad) / servers) * (servers / (servers - offeredLoad));
  return waiting / (sum + waiting);
}

/** M/M/c queueing figures: arrivals per second, mean service seconds, servers. */
export function mmc(servers: number, arrivalsPerSecond: number, meanServiceSeconds: number) {
  const serviceRate = 1 / meanServiceSeconds;
  const pWait = erlangC(servers, arrivalsPerSecond * meanServiceSeconds);
  /** Rate of the exponential tail of the wait of those who wait. */
  const drain = servers * serviceRate - arrivalsPerSecond;
  return {
    pWait,
    meanWait: pWait / drain,
    /** The wait exceeded by a fraction q of arrivals (0 when fewer than q wait at all). */
    waitQuantile: (p: number) => (1 - p >= pWait ? 0 : Math.log(pWait / (1 - p)) / drain),
  };
}
