/**
 * The request and response schemas of the API (`schemas/api/*.schema.json`, draft 2020-12) and
 * the mode parameter schemas (`schemas/modes/`, owned by the modes layer), each with the
 * component name it has in the OpenAPI document. The files are the single source of truth: ajv
 * compiles the request schemas for validation, the OpenAPI generator embeds them all (turning
 * the response schemas' file references into component references), and the e2e tests check
 * every 2xx response against them.
 */
import type { JobRequestBody } from '../services/api.js';
import { MODE_NAMES, MODE_SCHEMAS } from '../modes/catalogue.js';
import jobRequestSchema from '../../schemas/api/job-request.schema.json' with { type: 'json' };
import jobStatusRequestSchema from '../../schemas/api/job-status-request.schema.json' with { type: 'json' };
import smbSetupRequestSchema from '../../schemas/api/smb-setup-request.schema.json' with { type: 'json' };
import modeParamsRequestSchema from '../../schemas/api/mode-params-request.schema.json' with { type: 'json' };
import jobsQuerySchema from '../../schemas/api/jobs-query.schema.json' with { type: 'json' };
import runFileQuerySchema from '../../schemas/api/run-file-query.schema.json' with { type: 'json' };
import runStreamQuerySchema from '../../schemas/api/run-stream-query.schema.json' with { type: 'json' };
import errorEnvelopeSchema from '../../schemas/api/error-envelope.schema.json' with { type: 'json' };
import validationIssueSchema from '../../schemas/api/validation-issue.schema.json' with { type: 'json' };
import modeAnalysisSchema from '../../schemas/api/mode-analysis.schema.json' with { type: 'json' };
import versionSchema from '../../schemas/api/version.schema.json' with { type: 'json' };
import healthSchema from '../../schemas/api/health.schema.json' with { type: 'json' };
import deviceInfoSchema from '../../schemas/api/device-info.schema.json' with { type: 'json' };
import deviceListSchema from '../../schemas/api/device-list.schema.json' with { type: 'json' };
import slotFiguresSchema from '../../schemas/api/slot-figures.schema.json' with { type: 'json' };
import slotStatusSchema from '../../schemas/api/slot-status.schema.json' with { type: 'json' };
import deviceStatusEntrySchema from '../../schemas/api/device-status-entry.schema.json' with { type: 'json' };
import slotModeResultSchema from '../../schemas/api/slot-mode-result.schema.json' with { type: 'json' };
import modeWarningSchema from '../../schemas/api/mode-warning.schema.json' with { type: 'json' };
import adjustmentSchema from '../../schemas/api/adjustment.schema.json' with { type: 'json' };
import jobStatusSchema from '../../schemas/api/job-status.schema.json' with { type: 'json' };
import jobOverviewSchema from '../../schemas/api/job-overview.schema.json' with { type: 'json' };
import jobCancelResultSchema from '../../schemas/api/job-cancel-result.schema.json' with { type: 'json' };
import runFileListSchema from '../../schemas/api/run-file-list.schema.json' with { type: 'json' };
import modeListSchema from '../../schemas/api/mode-list.schema.json' with { type: 'json' };
import modeParamTypesSchema from '../../schemas/api/mode-param-types.schema.json' with { type: 'json' };
import modeValidationResultSchema from '../../schemas/api/mode-validation-result.schema.json' with { type: 'json' };
import modeIssueSchema from '../../schemas/api/mode-issue.schema.json' with { type: 'json' };
import nasSetupResultSchema from '../../schemas/api/nas-setup-result.schema.json' with { type: 'json' };
import nasHealthSchema from '../../schemas/api/nas-health.schema.json' with { type: 'json' };
import uploadEnqueuedSchema from '../../schemas/api/upload-enqueued.schema.json' with { type: 'json' };
import uploadStateSchema from '../../schemas/api/upload-state.schema.json' with { type: 'json' };
import rescanResultSchema from '../../schemas/api/rescan-result.schema.json' with { type: 'json' };
import streamTokenSchema from '../../schemas/api/stream-token.schema.json' with { type: 'json' };

/** A plain JSON Schema object (draft 2020-12). */
export type JsonSchema = Record<string, unknown>;

/**
 * A schema plus its OpenAPI component name. `T` is the TypeScript shape a value has once it
 * passed the schema (a phantom type: it links a route's schema to its handler's input).
 */
export interface SchemaRef<T> {
  readonly name: string;
  readonly schema: JsonSchema;
  /** Never set; carries `T` for the type checker only. */
  readonly __type?: T;
}

function defineSchema<T>(name: string, schema: JsonSchema): SchemaRef<T> {
  return { name, schema };
}

/** Body of POST /jobs/status. */
export interface JobStatusRequestBody {
  run_ids: string[];
}

/** Query of GET /jobs (values as they come off the query string). */
export interface JobsQuery {
  state?: 'incomplete' | 'completed';
  group_id?: string;
}

/** Query of GET /runs/{run_id}/file. */
export interface RunFileQuery {
  path: string;
}

/** Query of GET /runs/{run_id}/stream. */
export interface RunStreamQuery {
  slot?: string;
  access_token?: string;
}

export const API_SCHEMAS = {
  JobRequest: defineSchema<JobRequestBody>('JobRequest', jobRequestSchema),
  JobStatusRequest: defineSchema<JobStatusRequestBody>('JobStatusRequest', jobStatusRequestSchema),
  SMBSetupRequest: defineSchema<Record<string, unknown>>('SMBSetupRequest', smbSetupRequestSchema),
  ModeParamsRequest: defineSchema<Record<string, unknown>>('ModeParamsRequest', modeParamsRequestSchema),
  JobsQuery: defineSchema<JobsQuery>('JobsQuery', jobsQuerySchema),
  RunFileQuery: defineSchema<RunFileQuery>('RunFileQuery', runFileQuerySchema),
  RunStreamQuery: defineSchema<RunStreamQuery>('RunStreamQuery', runStreamQuerySchema),
  ErrorEnvelope: defineSchema<unknown>('ErrorEnvelope', errorEnvelopeSchema),
  ValidationIssue: defineSchema<unknown>('ValidationIssue', validationIssueSchema),
  /** Response only: `slots[].results[].analysis` of a JobStatus. */
  ModeAnalysis: defineSchema<unknown>('ModeAnalysis', modeAnalysisSchema),
} as const;

/** Every API schema, in a fixed order (ajv registration, OpenAPI components). */
export const ALL_API_SCHEMAS: readonly SchemaRef<unknown>[] = Object.values(API_SCHEMAS);

/**
 * Schemas of the 2xx response bodies. They refer to each other (and to ModeAnalysis) by file
 * name; the OpenAPI document turns those into component references. Not compiled by the
 * request validator: nothing validates what the daemon sends, except the tests.
 */
export const RESPONSE_SCHEMAS = {
  Version: defineSchema<unknown>('Version', versionSchema),
  Health: defineSchema<unknown>('Health', healthSchema),
  DeviceInfo: defineSchema<unknown>('DeviceInfo', deviceInfoSchema),
  DeviceList: defineSchema<unknown>('DeviceList', deviceListSchema),
  SlotFigures: defineSchema<unknown>('SlotFigures', slotFiguresSchema),
  SlotStatus: defineSchema<unknown>('SlotStatus', slotStatusSchema),
  DeviceStatusEntry: defineSchema<unknown>('DeviceStatusEntry', deviceStatusEntrySchema),
  SlotModeResult: defineSchema<unknown>('SlotModeResult', slotModeResultSchema),
  ModeWarning: defineSchema<unknown>('ModeWarning', modeWarningSchema),
  Adjustment: defineSchema<unknown>('Adjustment', adjustmentSchema),
  JobStatus: defineSchema<unknown>('JobStatus', jobStatusSchema),
  JobOverview: defineSchema<unknown>('JobOverview', jobOverviewSchema),
  JobCancelResult: defineSchema<unknown>('JobCancelResult', jobCancelResultSchema),
  RunFileList: defineSchema<unknown>('RunFileList', runFileListSchema),
  ModeList: defineSchema<unknown>('ModeList', modeListSchema),
  ModeParamTypes: defineSchema<unknown>('ModeParamTypes', modeParamTypesSchema),
  ModeValidationResult: defineSchema<unknown>('ModeValidationResult', modeValidationResultSchema),
  ModeIssue: defineSchema<unknown>('ModeIssue', modeIssueSchema),
  NasSetupResult: defineSchema<unknown>('NasSetupResult', nasSetupResultSchema),
  NasHealth: defineSchema<unknown>('NasHealth', nasHealthSchema),
  UploadEnqueued: defineSchema<unknown>('UploadEnqueued', uploadEnqueuedSchema),
  UploadState: defineSchema<unknown>('UploadState', uploadStateSchema),
  RescanResult: defineSchema<unknown>('RescanResult', rescanResultSchema),
  StreamToken: defineSchema<unknown>('StreamToken', streamTokenSchema),
} as const;

/** Every response schema, in a fixed order (OpenAPI components). */
export const ALL_RESPONSE_SCHEMAS: readonly SchemaRef<unknown>[] = Object.values(RESPONSE_SCHEMAS);

/** `{$ref}` to a schema's OpenAPI component: how a route names its response schema. */
export function componentRef(ref: SchemaRef<unknown>): JsonSchema {
  return { $ref: `#/components/schemas/${ref.name}` };
}

/** An array of a component, e.g. the JobOverview[] of GET /jobs. */
export function arrayOf(ref: SchemaRef<unknown>): JsonSchema {
  return { type: 'array', items: componentRef(ref) };
}

/** Mode parameter schemas as OpenAPI components `ModeParams_<MODE>`, in catalogue order. */
export function listModeParamSchemas(): { mode: string; name: string; schema: JsonSchema }[] {
  return MODE_NAMES.map((mode) => ({ mode, name: `ModeParams_${mode}`, schema: MODE_SCHEMAS[mode] }));
}
