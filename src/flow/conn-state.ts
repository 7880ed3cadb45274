/**
 * Zeek-compatible connection state (`conn_state`) and `history`, derived from per-endpoint TCP
 * states the way Zeek's base/protocols/conn/main.zeek does (function conn_state):
 *
 * | state  | meaning (Zeek's conn.log documentation) |
 * |--------|------------------------------------------|
 * | S0     | connection attempt seen, no reply |
 * | S1     | connection established, not terminated |
 * | SF     | normal establishment and termination |
 * | REJ    | connection attempt rejected |
 * | S2     | established, close attempt by originator seen (but no reply from responder) |
 * | S3     | established, close attempt by responder seen (but no reply from originator) |
 * | RSTO   | established, originator aborted (sent a RST) |
 * | RSTR   | responder sent a RST |
 * | RSTOS0 | originator sent a SYN followed by a RST, never saw a SYN-ACK from the responder |
 * | RSTRH  | responder sent a SYN ACK followed by a RST, never saw a SYN from the (purported) originator |
 * | SH     | originator sent a SYN followed by a FIN, never saw a SYN ACK from the responder (half open) |
 * | SHR    | responder sent a SYN ACK followed by a FIN, never saw a SYN from the originator |
 * | OTH    | no SYN seen, just midstream traffic (one example: a partial connection that was not later closed) |
 *
 * History letters (originator upper case, responder lower case): S SYN, H SYN-ACK, A pure ACK,
 * D payload, F FIN, R RST, G content gap, T retransmission, W zero window, I inconsistent flags
 * (SYN with RST), Q multi-flag (SYN with FIN), ^ direction flipped. A, D, F, R, S, H, I, Q are
 * recorded once per direction; G, T, W each time their count reaches 1, 10, 100, ... (Zeek's
 * logarithmic repetition).
 *
 * The per-endpoint states come from Zeek's TCP endpoint state machine, simplified: updateStates,
 * called for every packet (flow/process.ts).
 */

export const Ep = {
  Inactive: 0,
  SynSent: 1,
  SynAckSent: 2,
  Partial: 3,
  Established: 4,
  Closed: 5,
  Reset: 6,
} as const;
export type Ep = (typeof Ep)[keyof typeof Ep];

export type ConnState = 'S0' | 'S1' | 'SF' | 'REJ' | 'S2' | 'S3' | 'RSTO' | 'RSTR' | 'RSTOS0' | 'RSTRH' | 'SH' | 'SHR' | 'OTH';

export const CONN_STATES: readonly ConnState[] = ['S0', 'S1', 'SF', 'REJ', 'S2', 'S3', 'RSTO', 'RSTR', 'RSTOS0', 'RSTRH', 'SH', 'SHR', 'OTH'];

const RSTOS0_HISTORY = /^\^?S[^HAFGIQ]*R/;

/**
 * @param os originator endpoint state, @param rs responder endpoint state
 * @param origBytes, respBytes payload bytes (Zeek's orig_bytes/resp_bytes: "0" tests only)
 */
export function connState(os: Ep, rs: Ep, history: string, origBytes: number, respBytes: number): ConnState {
  const oInactive = os === Ep.Inactive || os === Ep.Partial;
  const rInactive = rs === Ep.Inactive || rs === Ep.Partial;
  if (rs === Ep.Reset) {
    if (os === Ep.SynSent || os === Ep.SynAckSent || (os === Ep.Reset && origBytes === 0 && respBytes === 0)) return 'REJ';
    if (oInactive) return 'RSTRH';
    return 'RSTR';
  }
  if (os === Ep.Reset) {
    if (rInactive) {
      if (RSTOS0_HISTORY.test(history)) return 'RSTOS0';
      return 'OTH';
    }
    return 'RSTO';
  }
  if (rs === Ep.Closed && os === Ep.Closed) return 'SF';
  if (os === Ep.Closed) return rInactive ? 'SH' : 'S2';
  if (rs === Ep.Closed) return oInactive ? 'SHR' : 'S3';
  if (os === Ep.SynSent && rs === Ep.Inactive) return 'S0';
  if (os === Ep.Established && rs === Ep.Established) return 'S1';
  return 'OTH';
}

// TCP flags (as in segment.ts; module-local: this runs for every packet).
const FIN = 1;
const SYN = 2;
const RST = 4;
const ACK = 16;

/** What updateStates reads and writes of an endpoint (flow/endpoint.ts). */
export interface EndpointState {
  state: Ep;
}

/** What updateStates writes of a connection (flow/connection.ts). */
export interface ConnStateFlags {
  refused: boolean;
  established: boolean;
}

/**
 * One packet's effect on the endpoint states (Zeek's TCP endpoint state machine, simplified):
 * `fwd` sent it with TCP flags `f` and `len` payload bytes, `fromOrig` when that is the originator.
 */
export function updateStates(conn: ConnStateFlags, fwd: EndpointState, rev: EndpointState, f: number, len: number, fromOrig: boolean): void {
  if ((f & RST) !== 0) {
    if (fromOrig && fwd.state === Ep.SynSent && rev.state === Ep.Inactive) conn.refused = false;
    if (!fromOrig && (rev.state === Ep.SynSent || rev.state === Ep.SynAckSent)) conn.refused = true;
    fwd.state = Ep.Reset;
    return;
  }
  if ((f & SYN) !== 0) {
    if ((f & ACK) === 0) {
      if (fwd.state === Ep.Inactive || fwd.state === Ep.SynSent) fwd.state = Ep.SynSent;
    } else if (fwd.state === Ep.Inactive || fwd.state === Ep.SynSent || fwd.state === Ep.SynAckSent) {
      if (fromOrig) fwd.state = Ep.SynAckSent;
      else {
        if (rev.state === Ep.SynSent) rev.state = Ep.Established;
        fwd.state = Ep.Established;
        conn.established = true;
      }
    }
  }
  if ((f & FIN) !== 0) {
    fwd.state = Ep.Closed;
    return;
  }
  if ((f & SYN) === 0) {
    if (fwd.state === Ep.Inactive) {
      fwd.state = Ep.Partial;
      if (len > 0) conn.established = true;
    }
    if (fwd.state === Ep.SynAckSent && fromOrig) fwd.state = Ep.Established;
  }
}

/** Letters recorded once per direction: a bit per letter and direction. */
const ONCE = 'SHADFRIQ';

/** The bit of a once-per-direction letter (given in upper case) in a history bitmask. */
export function historyOnceBit(letter: string, fromOrig: boolean): number {
  return 1 << (ONCE.indexOf(letter) * 2 + (fromOrig ? 0 : 1));
}

/** Whether a repeating letter (G, T, W) is recorded when its count (after increment) is `count`: at 1, 10, 100, ... */
export function historyRepeats(count: number): boolean {
  return count === 1 || count === 10 || count === 100 || count === 1000 || count === 10000 || count === 100000;
}

/** A letter as written for the originator (upper case) or the responder (lower case). */
export function historyLetter(letter: string, fromOrig: boolean): string {
  return fromOrig ? letter : letter.toLowerCase();
}

/**
 * History builder state: a bitmask and the string. (The flow table keeps the same two things in
 * its connection slab and object, through the functions above.)
 */
export class History {
  text = '';
  private once = 0;

  /** Records a once-per-direction letter (given in upper case) for the originator (true) or responder. */
  once1(letter: string, fromOrig: boolean): void {
    const bit = historyOnceBit(letter, fromOrig);
    if (this.once & bit) return;
    this.once |= bit;
    this.text += historyLetter(letter, fromOrig);
  }

  /** Records a repeating letter (G, T, W) when `count` (after increment) is 1, 10, 100, ... */
  repeat(letter: string, fromOrig: boolean, count: number): void {
    if (historyRepeats(count)) this.text += historyLetter(letter, fromOrig);
  }

  flip(): void {
    this.text = `^${this.text}`;
  }
}
