/** The original consumer's distribution table: count per region, percentage, total. */
const RULE = '='.repeat(40);
const THIN = '-'.repeat(40);

export function distributionTable(counts: ReadonlyArray<readonly [string, number]>, title = 'Message distribution'): string {
  const total = counts.reduce((sum, [, n]) => sum + n, 0);
  const lines = counts.map(([region, n]) => `${region}: ${n} (${total ? ((100 * n) / total).toFixed(1) : '0.0'}%)`);
  return [RULE, title, RULE, ...lines, THIN, `Total: ${total} ${total === 1 ? 'message' : 'messages'}`].join('\n');
}
