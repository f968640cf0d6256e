/** The comment match (xt_comment.c): always holds; it only carries text. */
import type { CommentMatch } from "../ir/matches.ts";
import { defineMatch, expectXtSize } from "./types.ts";

/** XT_MAX_COMMENT_LEN: sizeof(struct xt_comment_info). */
export const XT_COMMENT_SIZE = 256;

/** The comment match. */
export const comment = defineMatch<CommentMatch>({
  name: "comment",
  revisions: [0],
  structSize: XT_COMMENT_SIZE,
  proto: 0,
  decode(data) {
    const bytes = new Uint8Array(expectXtSize("match 'comment'", data, XT_COMMENT_SIZE).buffer, data.byteOffset, XT_COMMENT_SIZE);
    const nul = bytes.indexOf(0);
    return { kind: "comment", comment: Buffer.from(bytes.subarray(0, nul < 0 ? XT_COMMENT_SIZE : nul)).toString("utf8") };
  },
  emit() {
    // xt_comment's match function returns true: no code.
  },
  describe: (m) => `-m comment --comment ${JSON.stringify(m.comment)}`,
});
