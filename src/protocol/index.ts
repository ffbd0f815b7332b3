export * from './constants.js';
export * from './crc16.js';
export * from './words.js';
export * from './frames.js';
export * from './frame-scanner.js';
export * from './register-groups.js';
export * from './identity.js';
