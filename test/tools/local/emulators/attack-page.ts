/**
 * What a hostile web page does to the local stack, as the page's own script: each call is a fetch from
 * the page (AWS JSON with a made-up signature, which no local server checks), in order; a ReceiveMessage
 * that gets messages is followed by a DeleteMessage of each. The page writes what it saw into
 * `window.attack` for the test to read.
 */

export interface AttackCall {
  readonly name: string;
  readonly url: string;
  /** x-amz-target of an AWS JSON call; absent: a plain GET. */
  readonly target?: string;
  readonly body?: object;
}

export interface AttackOutcome {
  readonly name: string;
  /** The status the page could read, or absent when fetch failed (network or CORS error). */
  readonly status?: number;
  readonly body?: string;
  readonly error?: string;
}

/** The page: its calls come in its URL's fragment, as JSON. */
export const ATTACK_PAGE = `<!doctype html>
<html><head><meta charset="utf-8"><title>a page on another origin</title></head>
<body><script>
const calls = JSON.parse(decodeURIComponent(location.hash.slice(1)));
const headers = (target) => ({
  'content-type': 'application/x-amz-json-1.0',
  'x-amz-target': target,
  'x-amz-date': '20260101T000000Z',
  authorization: 'AWS4-HMAC-SHA256 Credential=local/20260101/us-east-1/x/aws4_request, SignedHeaders=host, Signature=00',
});
async function call(c) {
  try {
    const init = c.target ? { method: 'POST', headers: headers(c.target), body: JSON.stringify(c.body ?? {}) } : {};
    const response = await fetch(c.url, init);
    return { name: c.name, status: response.status, body: await response.text() };
  } catch (error) {
    return { name: c.name, error: String(error) };
  }
}
(async () => {
  const outcomes = [];
  for (const c of calls) {
    const outcome = await call(c);
    outcomes.push(outcome);
    if (c.target === 'AmazonSQS.ReceiveMessage' && outcome.status === 200) {
      for (const m of JSON.parse(outcome.body).Messages ?? []) {
        outcomes.push(await call({ name: 'DeleteMessage', url: c.url, target: 'AmazonSQS.DeleteMessage', body: { QueueUrl: c.body.QueueUrl, ReceiptHandle: m.ReceiptHandle } }));
      }
    }
  }
  window.attack = outcomes;
})();
</script></body></html>
`;

/** The page's address for these calls (the fragment never reaches a server). */
export const attackUrl = (base: string, calls: readonly AttackCall[]) => `${base}#${encodeURIComponent(JSON.stringify(calls))}`;
