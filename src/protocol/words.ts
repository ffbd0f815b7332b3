/**
 * 32-bit values on the wire: two registers, low word first, each word big-endian
 * (byte order C D A B of the IEEE value A B C D; beep-protocol.md 4).
 */
const scratch = new DataView(new ArrayBuffer(4));

export function float32ToWordBytes(value: number, out: Uint8Array, offset: number): void {
  scratch.setFloat32(0, value, false); // A B C D
  out[offset] = scratch.getUint8(2);
  out[offset + 1] = scratch.getUint8(3);
  out[offset + 2] = scratch.getUint8(0);
  out[offset + 3] = scratch.getUint8(1);
}

export function uint32ToWordBytes(value: number, out: Uint8Array, offset: number): void {
  scratch.setUint32(0, value >>> 0, false);
  out[offset] = scratch.getUint8(2);
  out[offset + 1] = scratch.getUint8(3);
  out[offset + 2] = scratch.getUint8(0);
  out[offset + 3] = scratch.getUint8(1);
}

export function int32ToWordBytes(value: number, out: Uint8Array, offset: number): void {
  uint32ToWordBytes(value | 0, out, offset);
}

function loadBigEndian(bytes: Uint8Array, offset: number): void {
  scratch.setUint8(0, bytes[offset + 2]!);
  scratch.setUint8(1, bytes[offset + 3]!);
  scratch.setUint8(2, bytes[offset]!);
  scratch.setUint8(3, bytes[offset + 1]!);
}

export function wordBytesToFloat32(bytes: Uint8Array, offset: number): number {
  loadBigEndian(bytes, offset);
  return scratch.getFloat32(0, false);
}

export function wordBytesToUint32(bytes: Uint8Array, offset: number): number {
  loadBigEndian(bytes, offset);
  return scratch.getUint32(0, false);
}

export function wordBytesToInt32(bytes: Uint8Array, offset: number): number {
  loadBigEndian(bytes, offset);
  return scratch.getInt32(0, false);
}

/** Encodes float32 values as register bytes (4 bytes each). */
export function encodeFloat32Words(values: ArrayLike<number>, start = 0, end = values.length): Uint8Array {
  const out = new Uint8Array((end - start) * 4);
  for (let i = start; i < end; i++) float32ToWordBytes(values[i]!, out, (i - start) * 4);
  return out;
}

/**
 * Decodes ADC FIFO pairs (current A, potential V; current first) from read-reply data
 * into the given arrays at `outOffset`. Returns the number of pairs decoded.
 */
export function decodeAdcPairs(
  data: Uint8Array,
  current: Float32Array | Float64Array,
  potential: Float32Array | Float64Array,
  outOffset: number,
): number {
  const pairs = data.length >> 3;
  for (let p = 0; p < pairs; p++) {
    current[outOffset + p] = wordBytesToFloat32(data, p * 8);
    potential[outOffset + p] = wordBytesToFloat32(data, p * 8 + 4);
  }
  return pairs;
}
