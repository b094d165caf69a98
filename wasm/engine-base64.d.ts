/** The TLS engine (pinned_fetch.wasm) as standard base64. */
export declare const ENGINE_BASE64: string;
