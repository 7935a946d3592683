/**
 * How the local CloudWatch Logs endpoint (logs-endpoint.ts) and its parts refuse a request: HTTP 400 with
 * `{ __type, message, ...extra }`, as the service answers, so that the SDK raises its named exception.
 */
export class LogsApiError extends Error {
  constructor(
    readonly type: string,
    message: string,
    readonly extra: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = type;
  }
}
