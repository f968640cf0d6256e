/**
 * The revisions of the matches and targets the helper compiles, for IPT_SO_GET_REVISION_*.
 * ext/registry.ts provides the real one; until then the helper knows none and declines every
 * revision query, so that netfilter answers it.
 */

/** A match or a target. */
export type ExtensionKind = "match" | "target";

/** What the helper knows of an extension's revisions. */
export interface ExtensionRevisions {
  /** The revisions of `name` the helper compiles, or undefined if it does not compile `name` at all. */
  revisions(kind: ExtensionKind, name: string): readonly number[] | undefined;
}

/** Knows no extension: every revision query is declined to netfilter. */
export const NO_EXTENSIONS: ExtensionRevisions = { revisions: () => undefined };

/** Adapts a predicate `isKnownRevision(kind, name, rev)` (revisions 0..255) to ExtensionRevisions. */
export function fromPredicate(isKnownRevision: (kind: ExtensionKind, name: string, rev: number) => boolean): ExtensionRevisions {
  return {
    revisions(kind, name) {
      const known: number[] = [];
      for (let rev = 0; rev < 256; rev++) if (isKnownRevision(kind, name, rev)) known.push(rev);
      return known.length > 0 ? known : undefined;
    },
  };
}
