export { createPinnedFetch, type PinnedFetch, type PinnedFetchOptions } from "./fetch.js";
export { PinnedWebSocket, type WebSocketInit } from "./websocket/websocket.js";
export type { PinRule } from "./pins/policy.js";
export type { ClientCertificate } from "./tls/client-certificates.js";
export { connectTls, type ConnectTlsOptions } from "./connect-tls.js";
export type { TlsConnection } from "./tls/connection.js";
export {
  PinnedFetchError,
  type CertificateSummary,
  type PinFailureReport,
  type PinnedFetchErrorCode,
  type PinnedFetchErrorDetails,
} from "./errors.js";
export type { ConnectOptions, Runtime, RuntimeName, Socket } from "./runtime/index.js";
export { getPins, type CertificateInfo, type GetPinsOptions } from "./get-pins.js";
