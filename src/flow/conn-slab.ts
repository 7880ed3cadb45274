/**
 * The numeric state of every tracked TCP connection, kept struct-of-arrays style in two shared
 * typed arrays (one of doubles, one of 32-bit integers), one fixed-size slot per connection.
 *
 * Why: in a JavaScript object every field costs 8 bytes, and a field holding a number that is not
 * a small integer (every timestamp, NaN, an IPv4 address above 127.255.255.255) points to a
 * separately allocated 16-byte heap number. A connection has about 50 numbers and flags; as
 * object fields they cost over 700 bytes per idle connection, in these arrays 288 bytes. The
 * connection and endpoint classes in table.ts keep their property names (getters and setters
 * that read and write their slot), so the TCP logic reads as before.
 *
 * The arrays are allocated in chunks of 1,024 slots that never move (so a connection keeps
 * references to its chunk's arrays, and the unused tail is at most one chunk); released slots are
 * reused first. When a connection ends, its numbers are copied into arrays of its own
 * (`copySlot`) and the slot is released: stream consumers keep the connection (`ConnInfo`) after
 * it ended and must never see the next tenant of the slot.
 */

/** Doubles per connection slot: the connection's, then the two endpoints' (EP_F_FIELDS each). */
export const F_FIELDS = 10 + 2 * 6;
/** 32-bit integers per connection slot: the connection's, then the two endpoints' (EP_I_FIELDS each). */
export const I_FIELDS = 7 + 2 * 11;

// Connection doubles (offsets within the slot).
export const F_START_TIME = 0;
export const F_LAST_TIME = 1;
export const F_PREVIOUS_PACKET_TIME = 2;
export const F_MAX_IDLE = 3;
export const F_SYNACK_TIME = 4;
export const F_HANDSHAKE_ACK_TIME = 5;
export const F_IDLE_BEFORE_REQUEST = 6;
export const F_CUR_INDEX = 7;
/** IPv4 addresses as unsigned numbers (above 2^31 they do not fit an Int32Array slot). */
export const F_CLIENT_ADDR4 = 8;
export const F_SERVER_ADDR4 = 9;
/** Offset of the client endpoint's doubles; the server's follow EP_F_FIELDS later. */
export const F_ENDPOINTS = 10;
export const EP_F_FIELDS = 6;

// Endpoint doubles (offsets within the endpoint's part).
export const EF_PACKETS = 0;
export const EF_IP_BYTES = 1;
export const EF_PAYLOAD_BYTES = 2;
export const EF_NEXT_SEQ_TIME = 3;
export const EF_LAST_ACK_TIME = 4;
export const EF_FIRST_SYN_TIME = 5;

// Connection integers.
export const I_CLIENT_PORT = 0;
export const I_SERVER_PORT = 1;
export const I_KEY_HASH = 2;
export const I_LIST = 3;
export const I_LAST_PAYLOAD_DIR = 4;
/** Connection booleans, one bit each (CF_*). */
export const I_FLAGS = 5;
/** Once-per-direction history letters already written (conn-state.ts historyOnceBit). */
export const I_HISTORY_ONCE = 6;
export const I_ENDPOINTS = 7;
export const EP_I_FIELDS = 11;

// Endpoint integers (sequence numbers are kept as signed 32-bit values, as seq.ts compares them).
export const EI_STATE = 0;
export const EI_ISN = 1;
export const EI_SYN_COUNT = 2;
export const EI_MSS = 3;
export const EI_WINDOW_SCALE = 4;
export const EI_NEXT_SEQ = 5;
export const EI_MAX_SEQ_TO_BE_ACKED = 6;
export const EI_LAST_ACK = 7;
export const EI_DUP_ACK_NUM = 8;
export const EI_WINDOW = 9;
/** Endpoint booleans, one bit each (EPF_*). */
export const EI_FLAGS = 10;

export const CF_FLIPPED = 1;
export const CF_MIDSTREAM = 2;
export const CF_ESTABLISHED = 4;
export const CF_CLOSED = 8;
export const CF_REFUSED = 16;
export const CF_AWAITING_RESPONSE = 32;
export const CF_PENDING = 64;

export const EPF_SACK_PERMITTED = 1;
export const EPF_NEXT_SEQ_VALID = 2;
export const EPF_MAX_SEQ_VALID = 4;
export const EPF_LAST_ACK_VALID = 8;
export const EPF_LAST_WAS_KEEP_ALIVE = 16;
export const EPF_FIN_SEEN = 32;

/** Initial values of a fresh slot: what the object fields were initialised to before. */
const F_INITIAL = new Float64Array(F_FIELDS);
const I_INITIAL = new Int32Array(I_FIELDS);
{
  for (const f of [F_PREVIOUS_PACKET_TIME, F_SYNACK_TIME, F_HANDSHAKE_ACK_TIME, F_IDLE_BEFORE_REQUEST]) F_INITIAL[f] = NaN;
  F_INITIAL[F_CUR_INDEX] = -1;
  I_INITIAL[I_LAST_PAYLOAD_DIR] = -1;
  for (let e = 0; e < 2; e++) {
    F_INITIAL[F_ENDPOINTS + e * EP_F_FIELDS + EF_FIRST_SYN_TIME] = NaN;
    const ib = I_ENDPOINTS + e * EP_I_FIELDS;
    I_INITIAL[ib + EI_MSS] = -1;
    I_INITIAL[ib + EI_WINDOW_SCALE] = -1;
    I_INITIAL[ib + EI_WINDOW] = -1;
  }
}

/** Slots per chunk: a chunk is 1,024 × (22 doubles + 29 integers) = 292 KiB. */
const CHUNK_SLOTS = 1024;

/** Where one connection's numbers are: the chunk's two arrays and the slot's start in each. */
export interface SlabSlot {
  f64: Float64Array;
  i32: Int32Array;
  fBase: number;
  iBase: number;
}

export class ConnSlab {
  private readonly f64Chunks: Float64Array[] = [];
  private readonly i32Chunks: Int32Array[] = [];
  /** Slots handed out so far (the next new one), and the released ones to reuse first. */
  private used = 0;
  private readonly free: number[] = [];

  /** Slots in use. */
  get size(): number {
    return this.used - this.free.length;
  }

  /** A slot number, its fields set to the initial values. */
  alloc(): number {
    let slot = this.free.pop();
    if (slot === undefined) {
      slot = this.used++;
      if (slot % CHUNK_SLOTS === 0) {
        this.f64Chunks.push(new Float64Array(CHUNK_SLOTS * F_FIELDS));
        this.i32Chunks.push(new Int32Array(CHUNK_SLOTS * I_FIELDS));
      }
    }
    const at = this.locate(slot);
    at.f64.set(F_INITIAL, at.fBase);
    at.i32.set(I_INITIAL, at.iBase);
    return slot;
  }

  /** The arrays and offsets of a slot (chunks never move, so they may be kept while the slot is held). */
  locate(slot: number): SlabSlot {
    const chunk = Math.floor(slot / CHUNK_SLOTS);
    const index = slot % CHUNK_SLOTS;
    return { f64: this.f64Chunks[chunk]!, i32: this.i32Chunks[chunk]!, fBase: index * F_FIELDS, iBase: index * I_FIELDS };
  }

  release(slot: number): void {
    this.free.push(slot);
  }
}

/** A copy of one slot in arrays of its own (see the file comment). */
export function copySlot(at: SlabSlot): SlabSlot {
  return {
    f64: at.f64.slice(at.fBase, at.fBase + F_FIELDS),
    i32: at.i32.slice(at.iBase, at.iBase + I_FIELDS),
    fBase: 0,
    iBase: 0,
  };
}
