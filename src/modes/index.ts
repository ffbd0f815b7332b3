/** Public surface of the pure modes layer (waveforms, validation, CSV encoding, analyses). */
export * from './types.js';
export * from './constants.js';
export {
  MODE_SCHEMAS, CSV_COLUMN_HEADERS, LEGACY_MODE_TOKENS, UnsupportedModeError, listModes, normaliseModeName, isModeName,
  getModeInfo, getModeFamily, describeModeParams, resolveModeToken, mapLegacyDcParams, commonParamNames, SCHEMA_ANNOTATION_KEYWORDS,
  type JsonSchema, type CommonParamGroup, type ParamTypeString, type ParamDeclaration, type CsvColumn, type ModeInfo, type ResolvedMode,
} from './catalogue.js';
export { isMissingValue, parseFiniteNumber } from './coerce.js';
export { commonParamsOf, fillFromJob, hasCommonParam, type ResolvedCommonParams, type JobLevelParams } from './common-params.js';
export { countDurationPoints, countSweepPoints, fillLinspaceF32, roundHalfEven } from './numeric.js';
export { buildPlan, countPlanPoints, computePlannedDurationS, computeEtaS, computeTimeS, type PlanOf } from './plan.js';
export type * from './plan-types.js';
export { computeCdlLayout } from './plan-pot.js';
export {
  computeEisFrequencies, countEisFrequencies, computeEisBlocks, computePointsPerPeriod, computeActualFrequency, clampEisFrequency,
} from './plan-eis.js';
export {
  validateModeParams, parseModeParams, parseModeRequest, ISSUE_MESSAGES,
  type IssueCode, type ValidationIssue, type ValidationResult,
} from './validate.js';
export {
  formatPyFloat, computeDownsampleFactor, formatCsvHeader, CsvEncoder,
  type CsvPlanView, type CsvEncoderOptions, type SampleArray,
} from './csv.js';
export { EisAnalyser, analyseEis, encodeEisSpectrumCsv, EIS_SPECTRUM_HEADERS, type EisSpectrumRow, type EisAnalysis, type EisPlanView } from './eis.js';
export { analyseCdl, encodeCdlCsv, computeMedian, computeGradient, CDL_WINDOW_V, type CdlAnalysisInput, type CdlResultRow, type CdlAnalysis } from './cdl.js';
