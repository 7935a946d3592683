/**
 * The producer's requests now live in ops/requests.ts (the console's scenes make them too). This name
 * stays for the benches and end-to-end tests that still import it from here; new code imports ops.
 */
export { makeRequest, MALFORMED_BODIES, type RequestOptions } from '../ops/requests.js';
