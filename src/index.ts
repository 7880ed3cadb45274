/**
 * mirrorlens library API. Each stage's public pieces are re-exported here.
 */
export { Status, STATUS_NAMES } from './wire/status.js';
export { MirrorlensError, ErrorCode, isMirrorlensError } from './wire/errors.js';
export {
  PacketDecoder,
  Layer,
  LAYER_NAMES,
  LinkType,
  MAX_LAYERS,
  Ipv4View,
  Ipv6View,
  TcpView,
  TcpFlag,
  UdpView,
  IcmpView,
  VxlanView,
  GeneveView,
  GWLB_OPTION_CLASS,
  GwlbOptionType,
  ipv4ToString,
  ipv6ToString,
  parseIpv4,
  parseIpv6,
  type PacketDecoderOptions,
} from './wire/packet.js';
export { ANOMALIES, AnomalyLog, anomalyId, type AnomalyDef, type AnomalySeverity, type AnomalyDedup } from './wire/anomaly.js';
export { compileFilter, type PacketPredicate } from './wire/display-filter.js';
export { readCapture, CaptureParser, READ_CHUNK, MAX_BLOCK, type ReadCaptureOptions } from './capture/reader.js';
export { PacketRecord, type InterfaceInfo, type ReadOptions, type CaptureSummary, type CaptureWarning } from './capture/record.js';
export { PcapngWriter, SecretsType, EpbFlags, type InterfaceSpec, type PcapngSink, type PcapngWriterOptions } from './capture/pcapng-writer.js';
export { MirrorListener, type ListenOptions, type PacketComments } from './capture/listener.js';
export {
  MirrorDirection,
  MIRROR_DIRECTION_NAMES,
  parseMirrorFilter,
  loadMirrorFilter,
  mirrorFilterKeeps,
  mirrorFilterRuleFor,
  ruleMatches,
  describeMirrorFilter,
  parseCidr,
  emptyFilterPacket,
  type MirrorFilter,
  type MirrorFilterRule,
  type FilterPacket,
  type Cidr,
  type PortRange,
} from './capture/filter.js';
export { FrameClassifier, MirrorFrameFilter } from './capture/listen-classify.js';
export { RotatingCapture, fileTimestamp, type RotationOptions } from './capture/rotate.js';
export { ListenMetrics, DropReason, renderPrometheus, readKernelUdpDrops, type PointCounters } from './capture/metrics.js';
export { KeylogFollower, isKeyLogLine } from './capture/listen-keylog.js';
export { replayCapture, encapsulate, type ReplayOptions, type ReplayResult } from './capture/listen-replay.js';
export type { StreamSink, ConnInfo, Direction, EndReason } from './flow/stream.js';
export { FlowTable, TcpSegment, connectionUid, guessClientIsSrc, type FlowOptions, type FlowHandler, type FlowStats } from './flow/table.js';
export { processCaptures, capturePointOf, type PipelineHandler, type PipelineOptions, type PipelineSummary } from './flow/pipeline.js';
export { StreamReassembler, ReassemblyBudget, Seg, type ReassemblyOwner } from './flow/reassembly.js';
export { connState, CONN_STATES, type ConnState } from './flow/conn-state.js';
export { communityId } from './flow/community-id.js';
export { KeyLog, DSB_TLS_KEYLOG, TLS13_LABELS, formatKeyLogIssue, shortRandom, type KeyLogIssue, type KeyLogOptions, type SessionSecrets, type Watcher, type Tls13Label } from './tls/keylog.js';
export { createAppSink, sniffTls, type AppLayerInfo, type AppSink, type AppSinkOptions, type NextSink } from './tls/sniff.js';
export { TlsSink, createTlsSink, type TlsSessionInfo, type TlsAlert, type TlsSinkOptions, type NotDecryptedReason } from './tls/session.js';
export { suiteInfo, suiteName, allSuites, type SuiteInfo } from './tls/suites.js';
export { TCP_EVENT_TYPES, type ConnectionRecord, type TcpEvent, type TcpEventType, type ResetRecord, type FinRecord, type IdleGap, type TcpMark, type ResetState, type SeqState, type EndCause } from './flow/record.js';
export * from './logs/api.js';
export { createHttpSink, type HttpSinkOptions } from './http/session.js';
export type { HttpTransaction, HttpOutcome, HttpEndedBy, SelectedHeaders } from './http/transaction.js';
export { SELECTED_HEADERS } from './http/transaction.js';
export { Http1Parser, HeadAction, H1Anomaly, H1Error, type H1Handler, type H1Head, type Http1ParserOptions } from './http/h1-parser.js';
export { HpackDecoder, huffmanDecode, type HpackField, type HpackBlockResult } from './http/hpack.js';
export { h2ErrorName } from './http/h2-session.js';
