/** The worker-side dispatch fence: see docs/worker-fence.md. */
export * from './errors.js';
export * from './fence.js';
export * from './heartbeat.js';
export * from './identity.js';
export * from './keep.js';
export * from './middleware.js';
export * from './persistence.js';
export * from './record.js';
export * from './request-id.js';
export * from './visibility.js';
export * from './watch.js';
export * from './wrapper.js';
export * from './lanes.js';
export * from './smoke.js';
export * from './presence.js';
export * from './stealing.js';
export * from './transient.js';
