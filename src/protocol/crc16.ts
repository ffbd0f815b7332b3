/** CRC-16/MODBUS (poly 0xA001 reflected, init 0xFFFF, no final xor), sent low byte first. */
const TABLE = (() => {
  const t = new Uint16Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0xa001 : c >>> 1;
    t[n] = c;
  }
  return t;
})();

export function crc16Modbus(bytes: Uint8Array, start = 0, end = bytes.length): number {
  let crc = 0xffff;
  for (let i = start; i < end; i++) crc = (crc >>> 8) ^ TABLE[(crc ^ bytes[i]!) & 0xff]!;
  return crc;
}

/** Writes the CRC of bytes[0, length) at bytes[length], bytes[length + 1]. */
export function appendCrc(bytes: Uint8Array, length: number): void {
  const crc = crc16Modbus(bytes, 0, length);
  bytes[length] = crc & 0xff;
  bytes[length + 1] = crc >>> 8;
}

/** True when the last two bytes of bytes[start, end) are the CRC of what precedes them. */
export function hasValidCrc(bytes: Uint8Array, start: number, end: number): boolean {
  if (end - start < 4) return false;
  const crc = crc16Modbus(bytes, start, end - 2);
  return bytes[end - 2] === (crc & 0xff) && bytes[end - 1] === crc >>> 8;
}
