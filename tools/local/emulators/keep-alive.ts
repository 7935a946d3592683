/**
 * How long the local servers keep an idle connection open. AWS's endpoints keep them far longer than
 * Node's 5 s default; with that default, a client whose retry backoff waited more than 5 s would reuse a
 * socket the server had just closed and see a reset that no AWS service would have sent.
 */
export const IDLE_KEEP_ALIVE_MS = 65_000;
