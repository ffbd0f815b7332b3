/**
 * The USB serial-number string the firmware derives from the 96-bit MCU unique ID
 * (beep-protocol.md 1.1): 8 hex digits of word0 + word2, then 4 of word1's top 16 bits.
 */
export function formatUsbSerialNumber(word0: number, word1: number, word2: number): string {
  return (((word0 + word2) >>> 0).toString(16).padStart(8, '0') + (word1 >>> 16).toString(16).padStart(4, '0')).toUpperCase();
}
