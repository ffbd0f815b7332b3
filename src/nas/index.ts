/** Public surface of the NAS/SMB part (rest-api.md section 7). */
export { NasService, readNasPathsFromEnv } from './nas-service.js';
export type { NasHealth, NasServiceOptions, NasSetupResult, UploadState } from './nas-service.js';
export { NasError, UNSUPPORTED_PLATFORM_MESSAGE } from './errors.js';
export type { NasErrorCode } from './errors.js';
export type { NasConfig, NasSetupRequest, TransportKind, TransportSetting } from './config.js';
export type { RetentionPassResult } from './retention.js';
export type { UploadPhase, UploadQueueStats } from './upload-queue.js';
export { UPLOAD_DONE_MARKER, UPLOAD_FAILED_MARKER } from './local-files.js';
