// What the test servers send, shared by the servers (Node) and the tests in any runtime.

/** The body of `/hello`. */
export const HELLO = "hello, pinned world";

/** What `/encoded/...` sends, before its codings: long enough to come in several pieces. */
export const ENCODED_TEXT = `${HELLO}\n`.repeat(5000);
