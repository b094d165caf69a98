export interface DeflateParams {
  serverNoContextTakeover: boolean;
  clientNoContextTakeover: boolean;
  serverMaxWindowBits: number;
  clientMaxWindowBits: number;
}
export interface MessageDeflate {
  compress(payload: Uint8Array): Promise<Uint8Array>;
  decompress(payload: Uint8Array, limit: number): Promise<Uint8Array | null>;
  close(): void;
}
export function messageDeflate(_params: DeflateParams): MessageDeflate {
  throw new Error("stub");
}
