/**
 * A status line on stderr for a long read whose size is not known beforehand (a Logs Insights query, the
 * pages of a log group): on a terminal one line rewritten in place, cut to the terminal's width and
 * cleared at the end; on a pipe or in CI a plain line every few seconds (so nothing for a short read).
 * stdout stays the command's result (a report, or JSON).
 */
export interface StatusLine {
  update(text: string): void;
  stop(): void;
}

export function stderrStatus(label: string, stream: NodeJS.WriteStream = process.stderr, everyMs = 2000): StatusLine {
  if (stream.isTTY) {
    let shown = false;
    return {
      update(text) {
        const line = `${label}: ${text}`;
        const width = Math.max(20, (stream.columns || 80) - 1);
        stream.write(`\r\u001b[2K${line.length > width ? `${line.slice(0, width - 1)}…` : line}`);
        shown = true;
      },
      stop() {
        if (shown) stream.write('\r\u001b[2K');
      },
    };
  }
  let last = Date.now();
  return {
    update(text) {
      if (Date.now() - last < everyMs) return;
      last = Date.now();
      stream.write(`${label}: ${text}\n`);
    },
    stop() {},
  };
}
