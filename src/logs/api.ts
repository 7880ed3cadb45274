/**
 * The public API of the logs stage (re-exported by src/index.ts). Records are plain JSON-ready
 * objects discriminated by `kind`; times are float seconds since the epoch with the original
 * string alongside; AWS's `-` and `-1` "absent" conventions are null.
 */
export { readLogs, expandLogPaths } from './read.js';
export type { LogRecord, ReadLogsOptions, LogsSummary, LogFileSummary } from './read.js';
export { parseAlbLine, traceRootOf, ALB_TYPES } from './alb.js';
export type { AlbLogRecord } from './alb.js';
export { parseRequestLine } from './elb.js';
export type { HttpRequestLine, ElbLogFields } from './elb.js';
export { parseAlbConnectionLine, TLS_VERIFY_ERRORS } from './alb-conn.js';
export type { AlbConnectionLogRecord } from './alb-conn.js';
export { parseNlbLine, TLS_ALERTS } from './nlb.js';
export type { NlbLogRecord } from './nlb.js';
export { parseClbLine } from './clb.js';
export type { ClbLogRecord } from './clb.js';
export { parseFlowLine, compileFlowFormat, DEFAULT_FLOW_FIELDS, DEFAULT_FLOW_FORMAT, FLOW_FIELDS, tcpFlagNames } from './flow.js';
export type { FlowLogRecord, FlowFormat } from './flow.js';
export { explainAlbError, explainClbError, explainErrorReason, ERROR_REASONS } from './explain.js';
export type { ErrorExplanation } from './explain.js';
export { CAUSES, GROUPS, ALB_TROUBLESHOOTING, causeById, causesForVerdict, matchCauses, candidateCauses, groupName, signatureScore } from './causes/index.js';
export type { Cause, CaptureAdvice, CauseConfidence, CauseMatch, LogLineFacts, LogSignature, PacketSignature, TimeCond } from './causes/index.js';
export { LogsSummariser } from './summary.js';
export type { LogsReport, SummaryOptions, ExpectedFlow, ErrorLine, FlowFinding, ExpectResult } from './summary.js';
export { detectFormat } from './detect.js';
export { LOG_FORMATS, isLineError } from './types.js';
export type { LogFormat, LineError, BadLine } from './types.js';
