/**
 * The request schemas of the API (`schemas/api/*.schema.json`, draft 2020-12) and the mode
 * parameter schemas (`schemas/modes/`, owned by the modes layer), each with the component
 * name it has in the OpenAPI document. The files are the single source of truth: ajv
 * compiles them for validation and the OpenAPI generator embeds them unchanged.
 */
import type { JobRequestBody } from '../services/api.js';
import { MODE_NAMES, MODE_SCHEMAS } from '../modes/catalogue.js';
import jobRequestSchema from '../../schemas/api/job-request.schema.json' with { type: 'json' };
import jobStatusRequestSchema from '../../schemas/api/job-status-request.schema.json' with { type: 'json' };
import smbSetupRequestSchema from '../../schemas/api/smb-setup-request.schema.json' with { type: 'json' };
import modeParamsRequestSchema from '../../schemas/api/mode-params-request.schema.json' with { type: 'json' };
import jobsQuerySchema from '../../schemas/api/jobs-query.schema.json' with { type: 'json' };
import runFileQuerySchema from '../../schemas/api/run-file-query.schema.json' with { type: 'json' };
import errorEnvelopeSchema from '../../schemas/api/error-envelope.schema.json' with { type: 'json' };
import validationIssueSchema from '../../schemas/api/validation-issue.schema.json' with { type: 'json' };
import modeAnalysisSchema from '../../schemas/api/mode-analysis.schema.json' with { type: 'json' };

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

export const API_SCHEMAS = {
  JobRequest: defineSchema<JobRequestBody>('JobRequest', jobRequestSchema),
  JobStatusRequest: defineSchema<JobStatusRequestBody>('JobStatusRequest', jobStatusRequestSchema),
  SMBSetupRequest: defineSchema<Record<string, unknown>>('SMBSetupRequest', smbSetupRequestSchema),
  ModeParamsRequest: defineSchema<Record<string, unknown>>('ModeParamsRequest', modeParamsRequestSchema),
  JobsQuery: defineSchema<JobsQuery>('JobsQuery', jobsQuerySchema),
  RunFileQuery: defineSchema<RunFileQuery>('RunFileQuery', runFileQuerySchema),
  ErrorEnvelope: defineSchema<unknown>('ErrorEnvelope', errorEnvelopeSchema),
  ValidationIssue: defineSchema<unknown>('ValidationIssue', validationIssueSchema),
  /** Response only: `slots[].results[].analysis` of a JobStatus. */
  ModeAnalysis: defineSchema<unknown>('ModeAnalysis', modeAnalysisSchema),
} as const;

/** Every API schema, in a fixed order (ajv registration, OpenAPI components). */
export const ALL_API_SCHEMAS: readonly SchemaRef<unknown>[] = Object.values(API_SCHEMAS);

/** Mode parameter schemas as OpenAPI components `ModeParams_<MODE>`, in catalogue order. */
export function listModeParamSchemas(): { mode: string; name: string; schema: JsonSchema }[] {
  return MODE_NAMES.map((mode) => ({ mode, name: `ModeParams_${mode}`, schema: MODE_SCHEMAS[mode] }));
}
