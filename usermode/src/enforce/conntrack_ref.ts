/**
 * The netns's conntrack, kept on while a compiled table reads it.
 *
 * netfilter tracks connections in a netns only once something there asks for it: the checkentry of
 * xt_conntrack and xt_state calls nf_ct_netns_get, which registers conntrack's hooks (and defrag's)
 * for IPv4, and the match's destructor gives the reference back. Until then skb->_nfct stays 0 and
 * every packet would read INVALID. The helper's programs do not pass through xt_check_match, so the
 * enforcer takes the same reference itself, through the one interface of this kernel (6.12 and
 * later) that takes it from user space without touching the iptables tables: an nftables table of
 * family ip whose only chain is a non-base chain (no hook: no packet ever runs it) with one `ct
 * state` expression; nft_ct's init calls nf_ct_netns_get(net, NFPROTO_IPV4), its destroy the put.
 * Family ip, not inet, so that IPv6 conntrack stays as netfilter would leave it.
 *
 * The table is kernel state of the netns: it outlives the helper, as the pinned programs do, and
 * goes with the netns. `nft list ruleset` shows it, named and commented. It needs nft (Debian's
 * nftables) and CONFIG_NF_TABLES, CONFIG_NF_TABLES_IPV4 and CONFIG_NFT_CT (kernel/config).
 */
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";

/** The nftables table that holds the reference. */
export const CONNTRACK_TABLE = "bpfilter";

/** nft's input that takes the reference; idempotent (a second hold changes nothing). */
export const HOLD_RULESET = [
  `add table ip ${CONNTRACK_TABLE} { comment "bpfilter: keeps this netns's IPv4 conntrack on while its filter table reads conntrack state"; }`,
  `add chain ip ${CONNTRACK_TABLE} conntrack`,
  `flush chain ip ${CONNTRACK_TABLE} conntrack`,
  `add rule ip ${CONNTRACK_TABLE} conntrack ct state established`,
  "",
].join("\n");

/** nft's input that gives the reference back; idempotent (the add makes the delete succeed when there is none). */
export const RELEASE_RULESET = `add table ip ${CONNTRACK_TABLE}\ndelete table ip ${CONNTRACK_TABLE}\n`;

/** The nft binary: Debian's, or the first on PATH. */
export function nftPath(): string {
  return ["/usr/sbin/nft", "/sbin/nft"].find((path) => existsSync(path)) ?? "nft";
}

/** Runs nft with `input` in the calling thread's netns (a synchronous child inherits it); throws with nft's error. */
function runNft(nft: string, input: string): void {
  const result = spawnSync(nft, ["-f", "-"], { input, encoding: "utf8", timeout: 10_000 });
  if (result.error !== undefined) throw new Error(`${nft} -f -: ${result.error.message}`);
  if (result.status !== 0) throw new Error(`${nft} -f - exited ${result.status ?? result.signal}: ${result.stderr.trim()}`);
}

/** Takes the conntrack reference in the calling thread's netns; throws saying why not. */
export function holdConntrack(nft: string = nftPath()): void {
  runNft(nft, HOLD_RULESET);
}

/** Gives it back in the calling thread's netns (nothing when it is not held). */
export function releaseConntrack(nft: string = nftPath()): void {
  runNft(nft, RELEASE_RULESET);
}
