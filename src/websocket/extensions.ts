import type { DeflateParams } from "../runtime/message-deflate.js";
export const DEFLATE_OFFER = "permessage-deflate; client_max_window_bits";
export function acceptedDeflate(header: string | null, offered: boolean): DeflateParams | null {
  if (header === null) return null;
  throw new Error(`stub ${offered}`);
}
