/**
 * Output that fits the terminal: every command's report is wrapped to the terminal's width (80 columns
 * when stdout is not a terminal, so that logs and tests see what an 80-column terminal shows). A long
 * line breaks at a space, its continuation indented under the value of a "label   value" line, else under
 * the line's own indentation plus two; a single
 * word longer than the width (a URL, an ARN) stays whole, since a cut one could not be used.
 * `--json` output is never wrapped.
 */

/** The width reports are wrapped to: the terminal's columns, else 80. */
export function outputWidth(stream: NodeJS.WriteStream = process.stdout): number {
  return stream.isTTY && stream.columns ? Math.max(40, stream.columns) : 80;
}

/** Wraps one line; see the module comment. Spaces inside a line (column padding) are kept. */
export function wrapLine(line: string, width: number, hang = true): string[] {
  if (width <= 0 || line.length <= width) return [line];
  const indent = /^\s*/.exec(line)?.[0] ?? '';
  // A "label   value" line continues under its value; any other under its own indentation plus two.
  const column = /^(\s*\S(?:\S| (?! ))*\s{2,})\S/.exec(line)?.[1]?.length;
  const next = hang ? ' '.repeat(column !== undefined && column <= Math.min(40, width / 2) ? column : indent.length + 2) : indent;
  // Each word with the spaces before it.
  const tokens = line.slice(indent.length).match(/\s*\S+/g) ?? [];
  const out: string[] = [];
  let current = indent;
  let empty = true;
  for (const token of tokens) {
    const word = token.trimStart();
    // A word too long for any line (a URL, an ARN) goes on a line of its own, unless breaking would not
    // move it left (after a label: "execution id    arn:aws:...").
    const tooLong = next.length + word.length > width;
    if (!empty && current.length + token.length > width && !(tooLong && current.length <= next.length)) {
      out.push(current);
      current = `${next}${word}`;
    } else {
      current += empty ? word : token;
    }
    empty = false;
  }
  out.push(current);
  return out;
}

/** Wraps every line of a report (`hang`: continuation lines indented, as for a report; not for prose). */
export function fit(text: string, width = outputWidth(), hang = true): string {
  return text
    .split('\n')
    .flatMap((line) => wrapLine(line, width, hang))
    .join('\n');
}

/** console.log, wrapped to the output width. */
export function print(text = ''): void {
  console.log(fit(text));
}

/**
 * Text for --help: paragraphs (separated by a blank line; single line breaks inside one are spaces)
 * wrapped to the output width.
 */
export function helpText(text: string, width = outputWidth()): string {
  const paragraphs = text
    .trim()
    .split(/\n\s*\n/)
    .map((p) => p.replace(/\s*\n\s*/g, ' '));
  return `\n${paragraphs.map((p) => fit(p, width, false)).join('\n\n')}`;
}
