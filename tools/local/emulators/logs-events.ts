/**
 * A log event as the local CloudWatch Logs endpoint stores it, and the order every read gives events in
 * (FilterLogEvents pages, Logs Insights rows): by timestamp, then by arrival.
 */
export interface StoredEvent {
  readonly timestamp: number;
  readonly message: string;
  readonly ingestionTime: number;
  /** Arrival order over the whole endpoint: orders events of equal timestamps. */
  readonly seq: number;
  readonly stream: string;
  readonly group: string;
}

export const byTime = (a: StoredEvent, b: StoredEvent) => a.timestamp - b.timestamp || a.seq - b.seq;
