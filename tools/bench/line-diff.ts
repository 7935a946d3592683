/** The line diff the docs generators print with --check (`npm run cost:docs`, `npm run bench:scale:docs`). */
/** A line diff (longest common subsequence): `-` what stands, `+` what would be written. Empty when equal. */
export function lineDiff(actual: string, expected: string): string {
  if (actual === expected) return '';
  const a = actual.split('\n');
  const e = expected.split('\n');
  const lcs: number[][] = Array.from({ length: a.length + 1 }, () => new Array<number>(e.length + 1).fill(0));
  for (let i = a.length - 1; i >= 0; i--) {
    for (let j = e.length - 1; j >= 0; j--) {
      lcs[i]![j] = a[i] === e[j] ? lcs[i + 1]![j + 1]! + 1 : Math.max(lcs[i + 1]![j]!, lcs[i]![j + 1]!);
    }
  }
  const out: string[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < e.length) {
    if (i < a.length && j < e.length && a[i] === e[j]) {
      i++;
      j++;
    } else if (i < a.length && (j === e.length || lcs[i + 1]![j]! >= lcs[i]![j + 1]!)) {
      out.push(`- ${a[i++]}`);
    } else {
      out.push(`+ ${e[j++]}`);
    }
  }
  return out.join('\n');
}
