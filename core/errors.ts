/**
 * The errors the forward function throws when a region took nothing (functions/forward.ts), by the names
 * the workflow's Retry and Catch match (workflows/forward-branch.ts). One place for both sides, so that a
 * renamed error cannot leave a retrier matching nothing. Pure: no AWS SDK.
 */

/** Every send was answered as refused: nothing reached the region, so failing over is safe. */
export const REGION_UNAVAILABLE = 'RegionUnavailable';

/** Some send had no answer: the messages may be in the region's queue, so they never fail over. */
export const REGION_UNCONFIRMED = 'RegionUnconfirmed';
