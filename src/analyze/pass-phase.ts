/**
 * When, in the handling of packet `packet`, a second-pass event came (second-pass.ts): as the
 * clock moved before it, while the packet was processed, or at the capture's end. Apart from
 * second-pass.ts so that the replay (targeted.ts) reads them without loading the second pass.
 */
export const PHASE_CLOCK = 0;
export const PHASE_PACKET = 1;
export const PHASE_FINISH = 2;
