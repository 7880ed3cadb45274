/**
 * The numeric state of every tracked TCP connection, kept struct-of-arrays style in two shared
 * typed arrays (one of doubles, one of 32-bit integers), one fixed-size slot per connection.
 *
 * Why: in a JavaScript object every field costs 8 bytes, and a field holding a number that is not
 * a small integer (every timestamp, NaN, an IPv4 address above 127.255.255.255) points to a
 * separately allocated 16-byte heap number. A connection has about 50 numbers and flags; as
 * object fields they cost over 700 bytes per idle connection, in these arrays 284 bytes. The
 * connection and endpoint classes (connection.ts, endpoint.ts) keep their property names (getters
 * and setters that read and write their slot), so the TCP logic reads as before; each defines its
 * part of a slot's layout (module-local constants: V8 optimises those better than imported ones).
 *
 * The arrays are allocated in chunks of 1,024 slots that never move (so a connection keeps
 * references to its chunk's arrays, and the unused tail is at most one chunk); released slots are
 * reused first. When a connection ends, its numbers are copied out (`retire`) and the slot is
 * released: stream consumers keep the connection (`ConnInfo`) after it ended and must never see
 * the next tenant of the slot.
 */

/** Slots per chunk (with the flow table's layout, 21 doubles + 29 integers a slot: 284 KiB a chunk). */
const CHUNK_SLOTS = 1024;

/** Where one connection's numbers are: the chunk's two arrays and the slot's start in each. */
export interface SlabSlot {
  f64: Float64Array;
  i32: Int32Array;
  fBase: number;
  iBase: number;
}

export class ConnSlab {
  private readonly fFields: number;
  private readonly iFields: number;
  private readonly f64Chunks: Float64Array[] = [];
  private readonly i32Chunks: Int32Array[] = [];
  /** Slots handed out so far (the next new one), and the released ones to reuse first. */
  private used = 0;
  private readonly free: number[] = [];

  /** `fInitial` / `iInitial`: a fresh slot's doubles and integers (their lengths are the slot's size). */
  constructor(
    private readonly fInitial: Float64Array,
    private readonly iInitial: Int32Array,
  ) {
    this.fFields = fInitial.length;
    this.iFields = iInitial.length;
  }

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
        this.f64Chunks.push(new Float64Array(CHUNK_SLOTS * this.fFields));
        this.i32Chunks.push(new Int32Array(CHUNK_SLOTS * this.iFields));
      }
    }
    const at = this.locate(slot);
    at.f64.set(this.fInitial, at.fBase);
    at.i32.set(this.iInitial, at.iBase);
    return slot;
  }

  /** The arrays and offsets of a slot (chunks never move, so they may be kept while the slot is held). */
  locate(slot: number): SlabSlot {
    const chunk = Math.floor(slot / CHUNK_SLOTS);
    const index = slot % CHUNK_SLOTS;
    return { f64: this.f64Chunks[chunk]!, i32: this.i32Chunks[chunk]!, fBase: index * this.fFields, iBase: index * this.iFields };
  }

  release(slot: number): void {
    this.free.push(slot);
  }

  /**
   * Copies a slot's numbers to a place of their own and releases the slot (see the file comment).
   * The copies fill chunks of their own that the slab forgets once full: a chunk lives as long as
   * a stream consumer still holds one of its connections, and no typed array is made per
   * connection (making two per ended connection cost 1.5 % of the flow pipeline's CPU).
   */
  retire(slot: number, at: SlabSlot): SlabSlot {
    if (this.retiredF === null || this.retiredI === null || this.retiredCount === CHUNK_SLOTS) {
      this.retiredF = new Float64Array(CHUNK_SLOTS * this.fFields);
      this.retiredI = new Int32Array(CHUNK_SLOTS * this.iFields);
      this.retiredCount = 0;
    }
    const copy: SlabSlot = { f64: this.retiredF, i32: this.retiredI, fBase: this.retiredCount * this.fFields, iBase: this.retiredCount * this.iFields };
    this.retiredCount++;
    for (let k = 0; k < this.fFields; k++) copy.f64[copy.fBase + k] = at.f64[at.fBase + k]!;
    for (let k = 0; k < this.iFields; k++) copy.i32[copy.iBase + k] = at.i32[at.iBase + k]!;
    this.release(slot);
    return copy;
  }

  /** The chunk copies of ended connections go to (null before the first), and how many it holds. */
  private retiredF: Float64Array | null = null;
  private retiredI: Int32Array | null = null;
  private retiredCount = 0;
}
