/**
 * mirrorlens library API. Each stage's public pieces are re-exported here.
 */
export { Status, STATUS_NAMES } from './wire/status.js';
export { MirrorlensError, ErrorCode, isMirrorlensError } from './wire/errors.js';
export type { StreamSink, ConnInfo, Direction, EndReason } from './flow/stream.js';
export * from './logs/api.js';
