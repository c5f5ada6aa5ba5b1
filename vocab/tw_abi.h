// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/* The contract between the BPF LSM programs (tokenwarden.bpf.c) and the loader: map layouts,
 * record formats and codes. Plain C, included by both sides; userspace includes it through
 * vocab/policy_tables.h. Changing a layout changes TW_ABI_VERSION.
 *
 * Policy tables are per generation: each outer ARRAY_OF_MAPS has two slots, and the `ctl` map
 * says which slot is live. `replace` fills fresh inner maps into the other slot and flips `ctl`
 * with one map update; a program reads `ctl` once per invocation, so every decision sees one
 * generation's tables only, and the kernel frees an old inner map only after every program that
 * may still hold it has finished (RCU).
 *
 * The enums' values come from one table each (attr.def, hook.def, reason.def; errno.def for the
 * errnos the programs may return), which C++ reads too (vocab/abi_names.h); vocab/abi_pin.h
 * fails the build when a table changes without TW_ABI_VERSION.
 */
#pragma once

#ifndef __BPF__
#include <linux/types.h>
#endif

#define TW_ABI_VERSION 9

#define TW_MAX_ATOMS 8      /* atoms per conjunction */
#define TW_MAX_RANGES 4     /* intervals per numeric atom */
#define TW_MAX_VALUES 4     /* values per comm / exe / cgroup / bpffs atom */
#define TW_CHUNK 16         /* candidate conjunctions per index chunk */
#define TW_MAX_CHUNKS 64    /* chunks per index key: 1024 conjunctions share one exact value */
#define TW_MAX_SCAN 256     /* conjunctions without an exact value, tried one by one */
#define TW_CGROUP_LEVELS 256 /* `creator.cgroup under` names cgroups at most this deep (levels below the root) */
#define TW_PATH_DEPTH 64     /* components of an executable's or a bpffs mount point's path */
#define TW_NAME_LEN 256      /* a path component and its NUL (NAME_MAX is 255) */
#define TW_COMM_LEN 16

/* Paths are compared as keyed hashes (SipHash-2-4, 64-bit output, with the generation's secret
 * `settings.path_key`), so that matching costs one lookup whatever the paths' lengths and that
 * nobody who cannot read the key can aim a path at another's hash. What is hashed is a sequence
 * of components, each encoded as its length (a little-endian u64) followed by its bytes padded
 * with NULs to a multiple of 8; the encoding is injective and is whole 8-byte words, which the
 * programs feed to SipHash one word at a time:
 *   cgroup  the cgroup's path below the cgroup2 root, root first ("/a/b": a, b); `under` keys
 *           hash the first `level` components;
 *   exe     the executable's path inside its own filesystem (dentry names up to that filesystem's
 *           root, not crossing mounts), leaf first ("/usr/bin/x" on the root filesystem: x, bin,
 *           usr), paired with the filesystem's device;
 *   bpffs   the path the token's bpffs is mounted at in the creator's mount namespace, leaf first
 *           (a bpffs not mounted in that namespace has no path and matches none). */
/* `allow probes`: the shapes of libbpf's feature probes, allowed without granting their types
 * and not counted against quotas. libbpf loads a 2-instruction socket filter before anything
 * else and refuses to go on if that fails; its other probes (global data, program names, map
 * binding) are socket filters of at most 5 instructions and one-entry array maps. */
#define TW_PROBE_INSNS 8       /* socket filters of at most this many instructions, attach type 0 */
#define TW_PROBE_VALUE_SIZE 32 /* array maps of one entry, 4-byte keys, values of at most this */
#define TW_PROBE_PROG_TYPE 1   /* BPF_PROG_TYPE_SOCKET_FILTER */
#define TW_PROBE_ATTACH_TYPE 0 /* BPF_CGROUP_INET_INGRESS, what libbpf's probes leave it at */
#define TW_PROBE_MAP_TYPE 2    /* BPF_MAP_TYPE_ARRAY */
/* What the bpffs must delegate for the probes, which a strict profile with `allow probes` accepts
 * beyond its grants. */
#define TW_PROBE_PROGS (1ULL << TW_PROBE_PROG_TYPE)
#define TW_PROBE_ATTACHS (1ULL << TW_PROBE_ATTACH_TYPE)
#define TW_PROBE_MAPS (1ULL << TW_PROBE_MAP_TYPE)

enum tw_attr {
#define TW_ATTR(ENUM, ident, spelling, numeric, max) TW_ATTR_##ENUM,
#include "attr.def"
#undef TW_ATTR
	TW_ATTR_COUNT,
};

enum tw_hook {
#define TW_HOOK(ENUM, ident, name) TW_HOOK_##ENUM,
#include "hook.def"
#undef TW_HOOK
	TW_HOOK_COUNT,
};

/* A guard event's hook (tw_event.hook): outside hook.def, since the guard decides nothing a policy
 * says; its `what` is the enum tw_guard below, its `what2` the object's id or inode number. */
#define TW_HOOK_GUARD 64

/* What the guard refuses (guard.def). */
enum tw_guard {
#define TW_GUARD(ENUM, ident, hook, text) TW_GUARD_##ENUM,
#include "guard.def"
#undef TW_GUARD
	TW_GUARD_COUNT,
};

/* The guard's identities of tokenwarden's objects: guard_ids keys (kind, id) and the one pin
 * directory, by the kernel's s_dev encoding (MAJOR << 20 | MINOR) and inode number. */
enum tw_guard_kind { TW_GUARD_KIND_MAP = 0, TW_GUARD_KIND_PROG = 1, TW_GUARD_KIND_LINK = 2 };
#define TW_GUARD_IDS 1024
struct tw_guard_id {
	__u32 kind; /* enum tw_guard_kind */
	__u32 id;
};
struct tw_guard_dir {
	__u32 dev;
	__u32 set;  /* 0: no directory is guarded yet */
	__u64 ino;
};

enum tw_mode { TW_MODE_ENFORCE = 0, TW_MODE_AUDIT = 1, TW_MODE_OFF = 2 };
enum tw_preexisting { TW_PRE_ALLOW = 0, TW_PRE_DENY = 1, TW_PRE_PROFILE = 2 };
/* TW_LIM_MAPS, TW_LIM_PROGS: objects made through one token. TW_LIM_TOKENS: live tokens of a
 * profile, whoever created them; TW_LIM_PROFILE_MAPS, TW_LIM_PROFILE_PROGS: live maps and programs
 * made through all of a profile's tokens (all three counted in the `live` map). TW_LIM_UID_TOKENS,
 * TW_LIM_USERNS_TOKENS: live tokens of the profile that one creator holds, by the creator's uid or by
 * the token's user namespace (the `creators` map). */
enum tw_limit { TW_LIM_MAX_ENTRIES = 0, TW_LIM_KEY_SIZE, TW_LIM_VALUE_SIZE, TW_LIM_INSNS, TW_LIM_MAPS, TW_LIM_PROGS,
		TW_LIM_TOKENS, TW_LIM_PROFILE_MAPS, TW_LIM_PROFILE_PROGS, TW_LIM_UID_TOKENS, TW_LIM_USERNS_TOKENS,
		TW_LIM_COUNT };

/* `limit max_entries|key_size|value_size N for map TYPE, ...`: the sizes a group of map types may
 * have, instead of the profile's own limits (already folded in: each field is the limit that applies
 * to the group's types). A map type is in one group at most; the groups are packed from the first,
 * and the first with no types ends them (the programs stop there). */
#define TW_MAX_TYPE_LIMITS 4
struct tw_type_limit {
	__u64 maps;  /* map types of the group */
	__u32 max_entries, key_size, value_size;
	__u32 pad;
};

/* Why a decision was taken (events and counters). */
enum tw_reason {
#define TW_REASON(ENUM, text) TW_R_##ENUM,
#include "reason.def"
#undef TW_REASON
	TW_R_COUNT,
};

/* The errnos a decision may return, by name: TW_EPERM, ... */
enum tw_errno {
#define TW_ERRNO(name, value) TW_##name = value,
#define TW_ERRNO_ALIAS(name, value) TW_##name = value,
#include "errno.def"
#undef TW_ERRNO
#undef TW_ERRNO_ALIAS
};

enum tw_verdict { TW_V_ALLOW = 0, TW_V_DENY = 1, TW_V_AUDIT = 2 };

struct tw_range {
	__u32 lo, hi;
};

struct tw_atom {
	__u8 attr;     /* enum tw_attr */
	__u8 negated;  /* string-like and delegates atoms */
	__u8 kind;     /* delegates: 0 cmd, 1 map, 2 prog, 3 attach */
	__u8 all;      /* delegates: all of mask, else any */
	__u8 count;    /* ranges or values used */
	__u8 pad[3];
	__u64 mask;    /* delegates */
	union {
		struct tw_range ranges[TW_MAX_RANGES];  /* uid, gid, userns owner/depth */
		__u64 ids[TW_MAX_VALUES][2];            /* exe {dev, hash}; cgroup {hash, level}; bpffs {hash, 0} */
		char comm[TW_MAX_VALUES][TW_COMM_LEN];  /* comm */
	};
};

/* One alternative of a profile's match clause. */
struct tw_conj {
	__u64 profile_id;
	__u32 order;    /* the profile's position: lower wins */
	__u32 n_atoms;
	struct tw_atom atoms[TW_MAX_ATOMS];
};

/* Index of conjunctions by one exact value they require (attr, value): chunks of candidates. */
struct tw_index_key {
	__u32 attr;
	__u32 chunk;
	__u64 v0, v1;
};
struct tw_index_val {
	__u32 n;
	__u32 conj[TW_CHUNK];
};

/* What a profile lets a labelled token do: everything the per-use hooks read. A copy lives in
 * each token's record (struct tw_token), so that a use of a token labelled by the live policy
 * generation costs one hash lookup. */
struct tw_rules {
	__u64 cmds, maps, progs, attachs, caps;
	__u32 limits[TW_LIM_COUNT];
	struct tw_type_limit type_limits[TW_MAX_TYPE_LIMITS];
	__u32 forbidden_map_flags;
	__s32 err;         /* positive errno */
	__u8 mode;         /* enum tw_mode: the profile's, or the policy's when it has none */
	__u8 sleepable_ok;
	__u8 log_allowed;  /* also emit events for allowed decisions (debugging, tests) */
	__u8 probes_ok;    /* `allow probes` */
};

struct tw_profile {
	__u64 id;
	__u32 order;
	__u8 refuse;
	__u8 strict;
	__u8 pad[2];
	__u32 reserve_tokens; /* `reserve tokens N`: slots of the token table kept for this profile */
	__u32 pad2;
	struct tw_rules rules;
	char name[64]; /* for status and audit; truncated */
};

struct tw_settings {
	__u64 generation;
	__u64 preexisting_id;
	__u8 default_allow;
	__u8 preexisting;  /* enum tw_preexisting */
	__u8 mode;         /* the policy's mode, for its defaults */
	__u8 log_allowed;  /* also emit events for allowed decisions (debugging, tests) */
	__s32 err;
	__u32 n_scan;
	__u32 n_conj;
	__u32 n_profiles;    /* entries of the generation's tables: the loader and status check them */
	__u32 n_index;
	__u32 under_levels;  /* 1 + the deepest level a `creator.cgroup under` names; 0: none */
	__u32 shared_tokens; /* slots of the token table not reserved by a profile (the loader's
			      * capacity less every `reserve tokens`), for all other tokens */
	__u32 unused_attrs;  /* bit 1 << TW_ATTR_x: no atom of this generation tests x, so
			      * bpf_token_create neither looks x up nor walks the path x needs
			      * (0, as from an older loader: every lookup and walk is done) */
	__u64 loaded_at_ns;  /* CLOCK_REALTIME of the install */
	__u64 path_key[2];   /* SipHash key of this generation's path hashes, from getrandom at load */
	__u8 policy_sha256[32];
	char policy_name[64];
};

struct tw_ctl {
	__u32 slot;  /* live slot of every outer map */
	__u32 loaded;
	__u64 generation;
};

/* What the kernel side remembers about a token it labelled. Written whole at bpf_token_create and
 * never rewritten (a hash element is replaced atomically, so readers never see half of one); only
 * the counters below change afterwards, atomically. */
#define TW_TOKEN_UNCONFINED 1  /* default allow: no profile */
#define TW_TOKEN_AUDIT_DEFAULT 2 /* default deny in audit mode let it through */
#define TW_TOKEN_LIVE 4          /* counted in its profile's live tokens (the `live` map) */
#define TW_TOKEN_RESERVED 8      /* holds one of its profile's reserved slots (tw_live.reserved) */
#define TW_TOKEN_SHARED 16       /* holds a shared slot of the token table (the `pool` map) */
#define TW_TOKEN_BY_UID 32       /* counted in its creator's entry of `creators` by uid (by_uid) */
#define TW_TOKEN_BY_USERNS 64    /* counted in its creator's entry of `creators` by user namespace (by_userns) */
#define TW_TOKEN_LOG_ALLOWED 128 /* its profile logs allowed uses (rules.log_allowed): its uses take the long way */
struct tw_token {
	__u64 profile_id;
	__u64 generation;  /* of the policy that labelled it: `rules` hold while it is live */
	__u32 flags;
	__u32 maps;
	__u32 progs;
	__u32 creator_tgid;
	__u32 by_uid;      /* the creator's uid (initial namespace) */
	__u32 by_userns;   /* the token's user namespace: its inode number (`lsns`, /proc/PID/ns/user) */
	__u64 allowed[TW_HOOK_COUNT];  /* allowed uses, folded into `counters` when the token is freed */
	struct tw_rules rules;         /* the profile's, as that generation had it */
};

/* What a profile holds now, for all CPUs (the `live` map), changed atomically: what `limit tokens`,
 * `limit maps N per profile` and `limit progs N per profile` compare. Maps and programs are counted
 * only for profiles with such a limit, from the creation the hook allows to the object's free. */
struct tw_live {
	__s64 tokens;
	__s64 maps;
	__s64 progs;
	__s64 reserved;  /* its live tokens that hold one of its reserved slots */
};

/* `limit tokens N per uid|userns`: one creator's live tokens under one profile (the `creators` map,
 * keyed by profile, kind and creator). An entry exists while its count is above zero: the free of
 * its last token marks it TW_CREATOR_GONE with a compare-and-swap from 0 and deletes it, and a
 * creation that finds it marked makes a fresh one; so the table holds the creators that hold
 * tokens now, however many have come and gone. */
enum tw_creator_by { TW_BY_UID = 0, TW_BY_USERNS = 1 };
struct tw_creator_key {
	__u64 profile_id;
	__u32 by; /* enum tw_creator_by */
	__u32 id; /* uid, or the user namespace's inode number */
};
#define TW_CREATOR_GONE (-(1LL << 62))

/* A map or program counted in its profile's `live` entry (the `objects` map, keyed by the object's
 * address), so that its free gives the place back. */
enum tw_object_kind { TW_OBJECT_MAP = 0, TW_OBJECT_PROG = 1 };
struct tw_object {
	__u64 profile_id;
	__u32 kind; /* enum tw_object_kind */
	__u32 pad;
};

/* Per profile and CPU. */
struct tw_counters {
	__u64 allowed[TW_HOOK_COUNT];
	__u64 denied[TW_HOOK_COUNT];
	__u64 audited[TW_HOOK_COUNT];
};

struct tw_stats {
	__u64 events;
	__u64 dropped_ringbuf;    /* ring buffer full */
	__u64 dropped_ratelimit;  /* over the events-per-second budget */
	__u64 token_map_full;
	__u64 counters_full;          /* decisions whose profile's counters had no room: not counted */
	__u64 object_map_full;        /* creations refused because the `objects` table was full */
	__u64 creator_map_full;       /* token creations refused because the `creators` table was full */
	__u64 guard[TW_GUARD_COUNT];  /* the guard's refusals, by enum tw_guard */
};

struct tw_ratelimit {
	__u64 last_ns;
	__u64 budget;  /* events left in this second */
};

struct tw_event {
	__u64 ts_ns;
	__u64 cgroup_id;
	__u64 profile_id;
	__u64 token;
	__u32 pid, tgid, uid, gid;
	__u32 hook;     /* enum tw_hook */
	__u32 verdict;  /* enum tw_verdict */
	__u32 reason;   /* enum tw_reason */
	__s32 err;
	__u32 what;     /* cmd, capability, map or program type */
	__u32 what2;    /* attach type, map flags */
	__u64 value;    /* the value over a limit */
	__u64 limit;
	char comm[TW_COMM_LEN];
	/* What the decision rested on beyond `what`, so that `replay` and `generate` can decide the
	 * event again (ABI 9). token_create: what the bpffs delegates (cmds, maps, progs, attachs) and
	 * the token's user namespace; map_create: the sizes (its flags are what2); prog_load: the
	 * instruction count and the load's flags. Zero where a hook has no such fact. */
	__u64 delegates[4];
	__u32 userns_owner, userns_depth;
	__u32 max_entries, key_size, value_size;
	__u32 insns, prog_flags;
	__u32 pad;
};
