/**
 * The survey's vocabulary (flow/survey.ts): why a connection is not simple, and how its end came.
 * Apart from the survey's code, so that what reads survey records (implication, the replay, the
 * TLS record walk's bits) does not load the JavaScript survey when the native one ran.
 */

/** Why a connection is not simple (SurveyConn.complex bits). */
export const Complex = {
  /** No SYN seen: picked up mid-stream. */
  Midstream: 1,
  /** More than one SYN from the client, or SYN-ACK from the server. */
  SynRetry: 2,
  /** No SYN-ACK. */
  NoSynAck: 4,
  Rst: 8,
  /** A FIN while a request was outstanding (new client bytes not yet answered). */
  FinRequestOutstanding: 16,
  /** Ended other than closed: open at the end of the capture, timed out, evicted, replaced by port reuse. */
  NotClosed: 32,
  /** New payload beyond the next expected sequence number (reordering, a hole), or partly old. */
  OutOfOrder: 64,
  /** Payload cut by the capture's snap length. */
  Truncated: 128,
  /** A keep-alive probe. */
  KeepAlive: 256,
  /** An ACK for bytes the capture never showed. */
  AckedUnseen: 512,
  /** More key packets than a record keeps in full. */
  ManyMarks: 1024,
  /** Payload after the sender's FIN. */
  DataAfterFin: 2048,
  /** A TLS alert before the sender's encryption started (the handshake may have failed). */
  TlsAlert: 4096,
  /** Bytes the observer could not follow (not the protocol it expected). */
  Unparsed: 8192,
  /** Payload on a SYN (TCP Fast Open). */
  SynData: 16384,
  /**
   * HTTP/2 (the h2c preface, or a TLS ClientHello offering h2): a GOAWAY, which only the read
   * can see, may have cut streams that the finding pairs with their retries.
   */
  Http2: 32768,
} as const;

export const COMPLEX_NAMES: Record<number, string> = {
  1: 'midstream',
  2: 'syn-retry',
  4: 'no-syn-ack',
  8: 'rst',
  16: 'fin-request-outstanding',
  32: 'not-closed',
  64: 'out-of-order',
  128: 'truncated',
  256: 'keep-alive',
  512: 'acked-unseen',
  1024: 'many-marks',
  2048: 'data-after-fin',
  4096: 'tls-alert',
  8192: 'unparsed',
  16384: 'syn-data',
  32768: 'http2',
};


/** How a connection's end came (SurveyConn.endPhase): while the clock moved, replaced by port reuse or evicted at a packet, or at the capture's end. */
export const END_CLOCK = 0;
export const END_AT_PACKET = 1;
export const END_FINISH = 2;
