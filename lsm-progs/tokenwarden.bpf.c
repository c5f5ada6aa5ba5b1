/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/* tokenwarden's BPF LSM programs: one program per token hook, driven by the compiled policy in
 * maps (layouts in tw_abi.h). They can only refuse: every path that is not a refusal returns 0.
 *
 * bpf_token_create  label the token with the first matching profile, or refuse it
 * bpf_token_free    forget the token
 * bpf_token_cmd     is the command allowed for the token's profile?
 * bpf_token_capable is the capability allowed?
 * bpf_map_create    map type, sizes (per type), flags, per-token and per-profile quotas
 * bpf_prog_load     program and attach type, length, sleepable, per-token and per-profile quotas
 * bpf_map_free, bpf_prog_free  give a counted object's place back to its profile
 * the guard         bpf, bpf_map, bpf_prog and inode hooks that keep tokenwarden's own objects
 *                   from tasks outside the initial user namespace (at the end of this file)
 *
 * The `kernel` argument that 6.15 added to bpf_map_create/bpf_prog_load is not read: the first
 * three arguments are the same on every kernel since 6.9, so one object attaches to both arities.
 *
 * Attached programs never fail open: when the live generation's tables are missing or do not
 * belong to the generation `ctl` names (an interrupted or racing writer, a damaged pin), every
 * token decision that needs them is a refusal with its own reason (TW_R_INCOMPLETE).
 */
#include "tw_kernel_types.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

#include "tw_abi.h"
#include "tw_siphash.h"

#include <stdbool.h>

#define BPF_F_SLEEPABLE_FLAG (1U << 4)

/* Set by the loader before load (it also sizes `tokens` and `counters`). */
const volatile __u32 events_per_sec = 1000;

/* ---- state that survives replace ------------------------------------------------------------ */

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct tw_ctl);
} ctl SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536); /* resized to --token-capacity by the loader */
	__type(key, __u64);          /* the struct bpf_token's address */
	__type(value, struct tw_token);
} tokens SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, 65536); /* resized by the loader */
	__type(key, __u64);          /* profile id; 0 = no profile */
	__type(value, struct tw_counters);
} counters SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct tw_stats);
} stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct tw_ratelimit);
} ratelimit SEC(".maps");

/* How many bpf_token_create programs may be under way on one CPU at once, each with its own set of
 * per-CPU scratch (`matching`, `walk`, `scratch`). LSM programs run with migration disabled, but a
 * preemptible kernel may preempt one inside its program and run another on the same CPU, which may
 * be preempted in turn. */
#define TW_CREATE_NEST 4

/* Where bpf_token_create builds a token's record: too big for the stack beside the matching. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, TW_CREATE_NEST);
	__type(key, __u32);
	__type(value, struct tw_token);
} scratch SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} events SEC(".maps");

/* ---- per-generation policy tables: outer[slot] -> inner map ---------------------------------- */

struct settings_inner {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct tw_settings);
};
struct profiles_inner {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1);
	__type(key, __u64);
	__type(value, struct tw_profile);
};
struct conjs_inner {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_INNER_MAP);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct tw_conj);
};
struct index_inner {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1);
	__type(key, struct tw_index_key);
	__type(value, struct tw_index_val);
};
struct scan_inner {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_INNER_MAP);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, 2);
	__type(key, __u32);
	__array(values, struct settings_inner);
} gen_settings SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, 2);
	__type(key, __u32);
	__array(values, struct profiles_inner);
} gen_profiles SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, 2);
	__type(key, __u32);
	__array(values, struct conjs_inner);
} gen_conjs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, 2);
	__type(key, __u32);
	__array(values, struct index_inner);
} gen_index SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, 2);
	__type(key, __u32);
	__array(values, struct scan_inner);
} gen_scan SEC(".maps");

/* clang emits only forward declarations for types that appear nowhere but as inner-map values,
 * and libbpf must know their sizes: these globals anchor their full BTF. */
struct tw_settings tw_btf_settings;
struct tw_profile tw_btf_profile;
struct tw_conj tw_btf_conj;
struct tw_index_val tw_btf_index_val;

/* ---- helpers ----------------------------------------------------------------------------------- */

static __always_inline struct tw_stats *global_stats(void)
{
	__u32 zero = 0;
	return bpf_map_lookup_elem(&stats, &zero);
}

/* The switch record when a policy is loaded, else null. The loader writes a generation before it
 * attaches the programs, so an attached program that finds none fails closed. */
static __always_inline struct tw_ctl *live_ctl(void)
{
	__u32 zero = 0;
	struct tw_ctl *c = bpf_map_lookup_elem(&ctl, &zero);
	return c && c->loaded ? c : 0;
}

/* The live generation's settings when they belong to it, else null (fail closed). */
static __always_inline struct tw_settings *settings_of(const struct tw_ctl *c)
{
	__u32 zero = 0;
	__u32 slot = c->slot & 1;
	void *inner = bpf_map_lookup_elem(&gen_settings, &slot);
	if (!inner)
		return 0;
	struct tw_settings *set = bpf_map_lookup_elem(inner, &zero);
	return set && set->generation == c->generation ? set : 0;
}

/* Does an atom of the live generation test `attr`? */
static __always_inline bool needed(const struct tw_settings *set, __u32 attr)
{
	return !(set->unused_attrs & (1U << attr));
}

/* Every table of the slot is present (the matching at bpf_token_create reads them all). */
static __always_inline bool tables_present(__u32 slot)
{
	return bpf_map_lookup_elem(&gen_profiles, &slot) && bpf_map_lookup_elem(&gen_conjs, &slot) &&
	       bpf_map_lookup_elem(&gen_index, &slot) && bpf_map_lookup_elem(&gen_scan, &slot);
}

static __always_inline struct tw_profile *profile_of(__u32 slot, __u64 id)
{
	void *inner = bpf_map_lookup_elem(&gen_profiles, &slot);
	if (!inner)
		return 0;
	return bpf_map_lookup_elem(inner, &id);
}

/* What each profile holds now (id 0: tokens with no profile), made on first use: counters for all
 * CPUs, changed atomically, which `limit tokens` and the per-profile object limits compare. The
 * loader sizes it like `counters`. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1);
	__type(key, __u64);
	__type(value, struct tw_live);
} live SEC(".maps");

/* The token table's shared slots taken (those no profile reserves), for all CPUs: one counter
 * that tw_settings.shared_tokens bounds. Survives replace, like `live`. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __s64);
} pool SEC(".maps");

/* The maps and programs counted in their profile's `live` entry, by address, so that the free
 * hooks give their places back. Only objects of profiles with `limit maps|progs N per profile` are
 * here; a full table (or no memory for an element: it is not preallocated, so that a host
 * without such limits pays nothing for it) refuses their creation (fails closed). Sized by the
 * loader. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, 1U << 0); /* BPF_F_NO_PREALLOC */
	__uint(max_entries, 65536);
	__type(key, __u64);
	__type(value, struct tw_object);
} objects SEC(".maps");

/* `limit tokens N per uid|userns`: each creator's live tokens under a profile (tw_abi.h,
 * tw_creator_key), an entry only while it is above zero. Not preallocated; a full table (or no
 * memory) refuses the creation (fails closed). Survives replace, like `live`; sized by the loader. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, 1U << 0); /* BPF_F_NO_PREALLOC */
	__uint(max_entries, 65536);
	__type(key, struct tw_creator_key);
	__type(value, __s64);
} creators SEC(".maps");

/* A profile's entry of `map` (`counters` or `live`), made from `fresh` (zeroes) on first use.
 * Null when the table is full: what the entry would have counted is lost, and counted here. */
static __always_inline void *profile_entry(void *map, __u64 profile_id, const void *fresh)
{
	void *v = bpf_map_lookup_elem(map, &profile_id);
	if (v)
		return v;
	bpf_map_update_elem(map, &profile_id, fresh, BPF_NOEXIST);
	v = bpf_map_lookup_elem(map, &profile_id);
	if (!v) {
		struct tw_stats *st = global_stats();
		if (st)
			st->counters_full++;
	}
	return v;
}

/* What a profile holds (id 0: no profile); null: not counted, and a limit cannot be checked. */
static __always_inline struct tw_live *live_of(__u64 profile_id)
{
	struct tw_live zero = {};
	return profile_entry(&live, profile_id, &zero);
}

/* A profile's counters (id 0: no profile). */
static __always_inline struct tw_counters *counters_of(__u64 profile_id)
{
	struct tw_counters fresh = {};
	return profile_entry(&counters, profile_id, &fresh);
}

static __always_inline void count(__u64 profile_id, int hook, int verdict)
{
	struct tw_counters *c = counters_of(profile_id);
	if (!c || hook < 0 || hook >= TW_HOOK_COUNT)
		return;
	if (verdict == TW_V_DENY)
		c->denied[hook]++;
	else if (verdict == TW_V_AUDIT)
		c->audited[hook]++;
	else
		c->allowed[hook]++;
}

/* A bounded number of events per second and CPU; what is over budget is counted, not sent. */
static __always_inline bool event_budget(struct tw_stats *s)
{
	__u32 zero = 0;
	struct tw_ratelimit *r = bpf_map_lookup_elem(&ratelimit, &zero);
	__u64 now = bpf_ktime_get_ns();
	if (!r)
		return false;
	if (now - r->last_ns >= 1000000000ULL) {
		r->last_ns = now;
		r->budget = events_per_sec;
	}
	if (r->budget == 0) {
		if (s)
			s->dropped_ratelimit++;
		return false;
	}
	r->budget--;
	return true;
}

/* What a token creation is matched on (gather_facts). */
struct facts {
	__u32 uid, gid, owner, depth;
	__u32 userns; /* the token's user namespace's inode number */
	__u32 pad0;
	__u64 exe_dev, exe_hash;
	__u64 bpffs_hash;
	__u64 masks[4];
	__u64 cgroup_hash; /* the task's own cgroup's path */
	__u32 cgroup_level;
	__u32 under_upto; /* the `under` prefixes of levels below this one are hashed */
	__u8 exe_ok, bpffs_ok, cgroup_ok, pad;
	char comm[TW_COMM_LEN];
};

struct decision {
	int hook;
	int verdict;
	int reason;
	int err;
	__u64 profile_id;
	__u64 token;
	__u32 what, what2;
	__u64 value, limit;
	/* What the event reports the decision rested on (tw_event, ABI 9), read only when it is
	 * emitted: token_create, its struct facts; map_create and prog_load, their union bpf_attr. */
	__u64 src;
};

/* The facts of the decision, for replay and generate: probe reads, since `src` is only an address
 * by now; they cost only when an event is sent. */
static __always_inline void event_facts(struct tw_event *e, const struct decision *d)
{
	__builtin_memset(e->delegates, 0, sizeof(*e) - __builtin_offsetof(struct tw_event, delegates));
	if (!d->src)
		return;
	if (d->hook == TW_HOOK_TOKEN_CREATE) {
		const struct facts *f = (const struct facts *)d->src;
		bpf_probe_read_kernel(e->delegates, sizeof(e->delegates), f->masks);
		bpf_probe_read_kernel(&e->userns_owner, sizeof(e->userns_owner), &f->owner);
		bpf_probe_read_kernel(&e->userns_depth, sizeof(e->userns_depth), &f->depth);
	} else if (d->hook == TW_HOOK_MAP_CREATE) {
		const union bpf_attr *a = (const union bpf_attr *)d->src;
		e->max_entries = BPF_CORE_READ(a, max_entries);
		e->key_size = BPF_CORE_READ(a, key_size);
		e->value_size = BPF_CORE_READ(a, value_size);
	} else if (d->hook == TW_HOOK_PROG_LOAD) {
		const union bpf_attr *a = (const union bpf_attr *)d->src;
		e->insns = BPF_CORE_READ(a, insn_cnt);
		e->prog_flags = BPF_CORE_READ(a, prog_flags);
	}
}

static __always_inline void emit(struct decision *d)
{
	struct tw_stats *s = global_stats();
	if (!event_budget(s))
		return;
	struct tw_event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		if (s)
			s->dropped_ringbuf++;
		return;
	}
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u64 uid_gid = bpf_get_current_uid_gid();
	e->ts_ns = bpf_ktime_get_ns();
	e->cgroup_id = bpf_get_current_cgroup_id();
	e->profile_id = d->profile_id;
	e->token = d->token;
	e->pid = (__u32)pid_tgid;
	e->tgid = pid_tgid >> 32;
	e->uid = (__u32)uid_gid;
	e->gid = uid_gid >> 32;
	e->hook = d->hook;
	e->verdict = d->verdict;
	e->reason = d->reason;
	e->err = d->err;
	e->what = d->what;
	e->what2 = d->what2;
	e->value = d->value;
	e->limit = d->limit;
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	event_facts(e, d);
	bpf_ringbuf_submit(e, 0);
	if (s)
		s->events++;
}

/* Turns a refusal into the hook's return value according to the mode; counts and logs. An
 * allowed use of a token with a record is counted in the record (no map lookup on the common
 * path); everything else in the profile's counters. */
static __always_inline int finish(struct decision *d, int mode, bool log_allowed, struct tw_token *t)
{
	if (d->verdict == TW_V_DENY && mode == TW_MODE_AUDIT)
		d->verdict = TW_V_AUDIT;
	if (d->verdict == TW_V_DENY && mode == TW_MODE_OFF)
		d->verdict = TW_V_ALLOW;
	__u32 hook = d->hook;
	if (t && d->verdict == TW_V_ALLOW && hook < TW_HOOK_COUNT)
		t->allowed[hook]++; /* statistics: a rare lost update under concurrent use is fine */
	else
		count(d->profile_id, d->hook, d->verdict);
	if (d->verdict != TW_V_ALLOW || log_allowed)
		emit(d);
	if (d->verdict != TW_V_DENY)
		return 0;
	/* LSM hooks must return 0 or a negative errno the verifier can bound: a constant for each errno
	 * a policy may name (vocab/errno.def), and no other (compiler/ir_validate.cpp). */
	switch (d->err) {
#define TW_ERRNO(name, value) case value: return -value;
#define TW_ERRNO_ALIAS(name, value)
#include "errno.def"
#undef TW_ERRNO
#undef TW_ERRNO_ALIAS
	default: return -TW_EPERM;
	}
}

/* A decision the live policy's tables should have made, but they are missing or inconsistent:
 * refused whatever the policy's mode, since its mode cannot be read either. A subprogram: its
 * decision record stays off the callers' stacks. */
static __noinline int fail_closed(int hook, __u64 token)
{
	struct decision d = {.hook = hook, .verdict = TW_V_DENY, .reason = TW_R_INCOMPLETE, .err = TW_EPERM,
			     .token = token};
	return finish(&d, TW_MODE_ENFORCE, false, 0);
}

/* ---- matching at bpf_token_create -------------------------------------------------------------- */

/* What bpf_token_create matches on. Paths are keyed hashes (tw_abi.h); a path that cannot be
 * hashed (deeper than any policy names, not mounted in the creator's namespace, unreadable) is
 * `*_ok == 0` and equals no value a policy names. */

struct match_ctx {
	struct facts f;
	__u32 slot;
	__u32 best_order;
	__u64 best_id;
	__u32 reserve;           /* the labelling profile's `reserve tokens` */
	struct tw_index_key key; /* the chunk being tried */
	__u32 n_cand;
	/* atom evaluation */
	__u32 conj;
	__u32 atoms_ok;
};

/* The matching's state lives per CPU, not on the stack: the callbacks' chain, the path walks and
 * the decision after them would not fit the verifier's 512 bytes together. A program runs to the
 * end on one CPU (migration is disabled); each program under way on a CPU has its own entry. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, TW_CREATE_NEST);
	__type(key, __u32);
	__type(value, struct match_ctx);
} matching SEC(".maps");

/* Which task holds each of this CPU's scratch entries (its pid_tgid, 0 when free). A program
 * takes a free entry with a compare-and-swap, so a program preempted anywhere keeps its state,
 * whatever runs on that CPU meanwhile and in whatever order the programs end; finding its entry
 * again is a comparison of four words, cheaper than a task storage lookup. */
struct tw_nest {
	__u64 owner[TW_CREATE_NEST];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct tw_nest);
} create_owner SEC(".maps");

/* Takes a free scratch entry of this CPU for the calling task: its index, or TW_CREATE_NEST when
 * every entry is held by a preempted program. The index then goes down the whole creation as the
 * `bpf_loop` context (a `__u32` on the hook's stack, handed on by each nested loop), so a callback
 * finds its entries with one array lookup and no search. */
static __always_inline __u32 nest_take(void)
{
	__u32 zero = 0;
	struct tw_nest *n = bpf_map_lookup_elem(&create_owner, &zero);
	if (!n)
		return TW_CREATE_NEST;
	__u64 me = bpf_get_current_pid_tgid();
	for (__u32 i = 0; i < TW_CREATE_NEST; i++)
		if (__sync_val_compare_and_swap(&n->owner[i], 0, me) == 0)
			return i;
	return TW_CREATE_NEST;
}

static __always_inline void nest_leave(__u32 i)
{
	__u32 zero = 0;
	struct tw_nest *n = bpf_map_lookup_elem(&create_owner, &zero);
	if (n && i < TW_CREATE_NEST)
		__sync_lock_test_and_set(&n->owner[i], 0);
}

/* `nest` is the creation's index (nest_take), on the hook's stack. */
static __always_inline struct match_ctx *match_scratch(void *nest)
{
	return bpf_map_lookup_elem(&matching, nest);
}

/* ---- paths as keyed hashes (the encoding is in tw_abi.h) ------------------------------------ */


/* Per CPU: the hash being built, the component being read, and the creator's cgroup path's
 * prefixes by level (the `under` keys). Too big for the stack. */
struct tw_walk {
	struct sip s;
	__u64 words;   /* fed to `s` so far */
	__u64 cgroup;  /* struct cgroup * of the creator */
	__u64 dentry;  /* where a dentry walk is */
	__u64 mnt;     /* struct mount * of a walk that crosses mounts, else 0 */
	__u32 under_levels;
	__u32 failed;
	__u32 done;    /* the walk reached a root */
	__u32 stop_level; /* the cgroup walk ends before this level */
	__u64 under[TW_CGROUP_LEVELS];
	char name[TW_NAME_LEN];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, TW_CREATE_NEST);
	__type(key, __u32);
	__type(value, struct tw_walk);
} walk SEC(".maps");

/* `i` masked to a power-of-two table size, the mask kept: clang drops a mask it believes redundant
 * after a bounds check the verifier cannot follow. */
static __always_inline __u64 masked(__u64 i, __u64 mask)
{
	barrier_var(i);
	return i & mask;
}

static __always_inline struct tw_walk *walk_scratch(void *nest)
{
	return bpf_map_lookup_elem(&walk, nest);
}

/* Feeds one path component to the walk's hash (tw_siphash.h). A global function: checked once,
 * whichever walk calls it. */
__noinline int tw_hash_name(struct tw_walk *w, __u64 kname)
{
	if (!w)
		return -1;
	return sip_component(&w->s, w->name, kname);
}

/* The creator's cgroup path, root first: at each level below the deepest a policy's `under`
 * names, the hash of the prefix so far; at the creator's own level, the whole path's. The walk's
 * state is in the per-CPU scratch, so that it costs the stack nothing. */
static long cgroup_level_cb(__u32 i, void *nest)
{
	struct tw_walk *w = walk_scratch(nest);
	struct match_ctx *m = match_scratch(nest);
	if (!w || !m)
		return 1;
	struct facts *f = &m->f;
	if (i < w->under_levels && i < TW_CGROUP_LEVELS) {
		w->under[masked(i, TW_CGROUP_LEVELS - 1)] = sip_final(&w->s, w->words);
		f->under_upto = i + 1;
	}
	if (i == f->cgroup_level) {
		f->cgroup_hash = sip_final(&w->s, w->words);
		f->cgroup_ok = 1;
		return 1;
	}
	if (i + 1 >= w->stop_level)
		return 1; /* no atom tests the whole path: the `under` prefixes are all it needs */
	struct cgroup *anc = 0;
	__u64 at = w->cgroup + bpf_core_field_offset(struct cgroup, ancestors) + (__u64)(i + 1) * sizeof(void *);
	if (bpf_probe_read_kernel(&anc, sizeof(anc), (const void *)at) || !anc) {
		w->failed = 1;
		return 1;
	}
	int words = tw_hash_name(w, (__u64)BPF_CORE_READ(anc, kn, name));
	if (words < 0) {
		w->failed = 1;
		return 1;
	}
	w->words += words;
	return 0;
}

static __always_inline void cgroup_facts(struct facts *f, struct task_struct *task, const struct tw_settings *set,
					 struct tw_walk *w, void *nest)
{
	struct cgroup *cg = task->cgroups->dfl_cgrp;
	int level = cg ? cg->level : -1;
	if (level < 0) {
		w->failed = 1;
		return;
	}
	f->cgroup_level = level;
	w->cgroup = (__u64)cg;
	w->under_levels = set->under_levels;
	w->stop_level = needed(set, TW_ATTR_CGROUP_IS) ? TW_CGROUP_LEVELS : set->under_levels;
	w->words = 0;
	sip_init(&w->s, set->path_key);
	/* Deeper than TW_CGROUP_LEVELS: no policy names such a path, so it stays unmatched. */
	bpf_loop(TW_CGROUP_LEVELS, cgroup_level_cb, nest, 0);
}

/* A path leaf first, from a dentry up to its filesystem's root, crossing mounts upwards when
 * w->mnt is set (a struct mount *): the path in that mount namespace. */
static long dentry_cb(__u32 i, void *nest)
{
	struct tw_walk *w = walk_scratch(nest);
	if (!w)
		return 1;
	struct dentry *de = (struct dentry *)w->dentry;
	if (w->mnt) {
		struct mount *m = (struct mount *)w->mnt;
		if (de == BPF_CORE_READ(m, mnt.mnt_root)) {
			struct mount *parent = BPF_CORE_READ(m, mnt_parent);
			if (parent == m || !parent) {
				w->done = 1; /* the namespace's root */
				return 1;
			}
			w->dentry = (__u64)BPF_CORE_READ(m, mnt_mountpoint);
			w->mnt = (__u64)parent;
			return 0;
		}
	}
	struct dentry *parent = BPF_CORE_READ(de, d_parent);
	if (!parent || parent == de) {
		w->done = 1; /* the filesystem's root */
		return 1;
	}
	int words = tw_hash_name(w, (__u64)BPF_CORE_READ(de, d_name.name));
	if (words < 0) {
		w->failed = 1;
		return 1;
	}
	w->words += words;
	w->dentry = (__u64)parent;
	return 0;
}

/* Hashes the walk from `dentry` (and `mnt`); false when it does not reach a root within
 * 2 * TW_PATH_DEPTH components and mount crossings. */
static __always_inline bool walk_path(struct tw_walk *w, const struct tw_settings *set, __u64 dentry, __u64 mnt,
				      __u64 *hash, void *nest)
{
	if (!dentry)
		return false;
	w->dentry = dentry;
	w->mnt = mnt;
	w->words = 0;
	w->done = 0;
	sip_init(&w->s, set->path_key);
	bpf_loop(2 * TW_PATH_DEPTH, dentry_cb, nest, 0);
	if (!w->done)
		return false;
	*hash = sip_final(&w->s, w->words);
	return true;
}

/* A comm is 16 bytes, NUL-padded on both sides (bpf_get_current_comm pads, the loader pads). */
static __always_inline bool comm_eq(const char *a, const char *b)
{
	__u64 a0, a1, b0, b1;
	__builtin_memcpy(&a0, a, 8);
	__builtin_memcpy(&a1, a + 8, 8);
	__builtin_memcpy(&b0, b, 8);
	__builtin_memcpy(&b1, b + 8, 8);
	return a0 == b0 && a1 == b1;
}

/* A global function: the verifier checks it once, on its own, instead of once per call site
 * inside the matching callbacks. `nest` is the creation's scratch index (nest_take). */
__noinline int tw_atom_holds(const struct tw_atom *a, const struct facts *f, __u32 nest)
{
	if (!a || !f)
		return 0;
	bool hit = false;
	__u32 n = a->count;
	if (n > TW_MAX_VALUES)
		n = TW_MAX_VALUES;

	switch (a->attr) {
	case TW_ATTR_UID:
	case TW_ATTR_GID:
	case TW_ATTR_USERNS_OWNER:
	case TW_ATTR_USERNS_DEPTH: {
		__u32 v = a->attr == TW_ATTR_UID   ? f->uid
			  : a->attr == TW_ATTR_GID ? f->gid
			  : a->attr == TW_ATTR_USERNS_OWNER ? f->owner
							    : f->depth;
		for (int i = 0; i < TW_MAX_RANGES; i++)
			if (i < n && v >= a->ranges[i].lo && v <= a->ranges[i].hi)
				hit = true;
		return hit; /* numeric atoms fold negation into their ranges */
	}
	case TW_ATTR_COMM:
		for (int i = 0; i < TW_MAX_VALUES; i++)
			if (i < n && comm_eq(a->comm[i], f->comm))
				hit = true;
		break;
	case TW_ATTR_EXE:
		for (int i = 0; i < TW_MAX_VALUES; i++)
			if (i < n && f->exe_ok && a->ids[i][0] == f->exe_dev && a->ids[i][1] == f->exe_hash)
				hit = true;
		break;
	case TW_ATTR_BPFFS:
		for (int i = 0; i < TW_MAX_VALUES; i++)
			if (i < n && f->bpffs_ok && a->ids[i][0] == f->bpffs_hash)
				hit = true;
		break;
	case TW_ATTR_CGROUP_IS:
		for (int i = 0; i < TW_MAX_VALUES; i++)
			if (i < n && f->cgroup_ok && a->ids[i][0] == f->cgroup_hash)
				hit = true;
		break;
	case TW_ATTR_CGROUP_UNDER: {
		/* {hash, level}: the task is in that cgroup or below it exactly when the first `level`
		 * components of its path are that cgroup's. Any depth. */
		struct tw_walk *w = walk_scratch(&nest);
		if (!w)
			break;
		for (int i = 0; i < TW_MAX_VALUES; i++) {
			__u64 level = a->ids[i][1];
			if (i < n && level < f->under_upto && w->under[masked(level, TW_CGROUP_LEVELS - 1)] == a->ids[i][0])
				hit = true;
		}
		break;
	}
	case TW_ATTR_DELEGATES: {
		__u64 have = f->masks[a->kind & 3] & a->mask;
		hit = a->all ? have == a->mask : have != 0;
		break;
	}
	default:
		return false; /* SELinux types and anything unknown never match here */
	}
	return hit != (a->negated != 0);
}

static long atom_cb(__u32 i, void *nest)
{
	struct match_ctx *m = match_scratch(nest);
	if (!m)
		return 1;
	__u32 slot = m->slot;
	void *conjs = bpf_map_lookup_elem(&gen_conjs, &slot);
	if (!conjs)
		return 1;
	struct tw_conj *c = bpf_map_lookup_elem(conjs, &m->conj);
	if (!c || i >= TW_MAX_ATOMS)
		return 1;
	/* The mask keeps the index provably in bounds for the verifier (TW_MAX_ATOMS is 8);
	 * barrier_var stops clang from dropping it as redundant after the check above. */
	__u64 k = i; /* 64-bit: zero-extended once, so the bounded register is the one used */
	barrier_var(k);
	k &= TW_MAX_ATOMS - 1;
	if (!tw_atom_holds(&c->atoms[k], &m->f, *(__u32 *)nest)) {
		m->atoms_ok = 0;
		return 1;
	}
	return 0;
}

/* Tries conjunction `idx`; keeps it when it holds and belongs to an earlier profile. */
static __always_inline void try_conj(struct match_ctx *m, __u32 idx, void *nest)
{
	__u32 slot = m->slot;
	void *conjs = bpf_map_lookup_elem(&gen_conjs, &slot);
	if (!conjs)
		return;
	struct tw_conj *c = bpf_map_lookup_elem(conjs, &idx);
	if (!c || c->order >= m->best_order)
		return;
	__u32 n = c->n_atoms;
	__u32 order = c->order;
	__u64 id = c->profile_id;
	m->conj = idx;
	m->atoms_ok = 1;
	bpf_loop(n > TW_MAX_ATOMS ? TW_MAX_ATOMS : n, atom_cb, nest, 0);
	if (m->atoms_ok) {
		m->best_order = order;
		m->best_id = id;
	}
}

static long cand_cb(__u32 i, void *nest)
{
	struct match_ctx *m = match_scratch(nest);
	if (!m)
		return 1;
	__u32 slot = m->slot;
	void *index = bpf_map_lookup_elem(&gen_index, &slot);
	if (!index || i >= TW_CHUNK || i >= m->n_cand)
		return 1;
	struct tw_index_val *v = bpf_map_lookup_elem(index, &m->key);
	if (!v)
		return 1;
	__u64 k = i; /* 64-bit: zero-extended once, so the bounded register is the one used */
	barrier_var(k);
	try_conj(m, v->conj[k & (TW_CHUNK - 1)], nest);
	return 0;
}

static long chunk_cb(__u32 chunk, void *nest)
{
	struct match_ctx *m = match_scratch(nest);
	if (!m)
		return 1;
	__u32 slot = m->slot;
	void *index = bpf_map_lookup_elem(&gen_index, &slot);
	if (!index)
		return 1;
	m->key.chunk = chunk;
	struct tw_index_val *v = bpf_map_lookup_elem(index, &m->key);
	if (!v)
		return 1;
	m->n_cand = v->n > TW_CHUNK ? TW_CHUNK : v->n;
	bpf_loop(TW_CHUNK, cand_cb, nest, 0);
	return m->n_cand < TW_CHUNK; /* a full chunk may have a successor */
}

static __always_inline void lookup_key(struct match_ctx *m, __u32 attr, __u64 v0, __u64 v1, void *nest)
{
	m->key.attr = attr;
	m->key.chunk = 0;
	m->key.v0 = v0;
	m->key.v1 = v1;
	/* Most values are in no profile's index: a miss costs this one lookup, not a loop. */
	__u32 slot = m->slot;
	void *index = bpf_map_lookup_elem(&gen_index, &slot);
	if (!index || !bpf_map_lookup_elem(index, &m->key))
		return;
	bpf_loop(TW_MAX_CHUNKS, chunk_cb, nest, 0);
}

static long scan_cb(__u32 i, void *nest)
{
	struct match_ctx *m = match_scratch(nest);
	if (!m)
		return 1;
	__u32 slot = m->slot;
	void *scan = bpf_map_lookup_elem(&gen_scan, &slot);
	if (!scan)
		return 1;
	__u32 *idx = bpf_map_lookup_elem(scan, &i);
	if (!idx)
		return 1;
	try_conj(m, *idx, nest);
	return 0;
}

/* The prefix of the task's cgroup path at level `i`, looked up as an `under` key: levels down to
 * the deepest one the policy names (settings.under_levels), whatever the task's own depth. */
static long cgroup_cb(__u32 i, void *nest)
{
	struct match_ctx *m = match_scratch(nest);
	if (!m)
		return 1;
	struct tw_walk *w = walk_scratch(nest);
	if (!w || i >= m->f.under_upto || i >= TW_CGROUP_LEVELS)
		return 1; /* the task is not that deep */
	lookup_key(m, TW_ATTR_CGROUP_UNDER, w->under[masked(i, TW_CGROUP_LEVELS - 1)], i, nest);
	return 0;
}

/* The creator's and the token's facts. Paths are hashed here, once per token creation: the
 * cgroup path from the hierarchy's root, the executable's path in its filesystem, the bpffs's
 * mount point in the creator's mount namespace. A subprogram of its own, so that its locals and
 * the walks' callbacks are off the stack before the matching. False: a name could not be read. */
static __noinline bool gather_facts(struct facts *f, const struct bpf_token *token, const struct path *path,
				    const struct tw_settings *set, void *nest)
{
	__u64 uid_gid = bpf_get_current_uid_gid();
	struct task_struct *task = bpf_get_current_task_btf();
	struct tw_walk *w = walk_scratch(nest);

	f->uid = (__u32)uid_gid;
	f->gid = uid_gid >> 32;
	bpf_get_current_comm(f->comm, sizeof(f->comm));
	/* Direct loads through the hook's token (the verifier makes them fault-safe), cheaper than
	 * a probe read each. */
	struct user_namespace *userns = token->userns;
	f->owner = userns->owner.val;
	f->depth = userns->level;
	f->userns = userns->ns.inum;
	f->masks[0] = token->allowed_cmds;
	f->masks[1] = token->allowed_maps;
	f->masks[2] = token->allowed_progs;
	f->masks[3] = token->allowed_attachs;
	if (!w)
		return false;
	w->failed = 0;
	if (needed(set, TW_ATTR_CGROUP_IS) || set->under_levels)
		cgroup_facts(f, task, set, w, nest);

	struct dentry *exe = needed(set, TW_ATTR_EXE) ? BPF_CORE_READ(task, mm, exe_file, f_path.dentry) : 0;
	if (exe) {
		f->exe_dev = BPF_CORE_READ(exe, d_sb, s_dev);
		f->exe_ok = walk_path(w, set, (__u64)exe, 0, &f->exe_hash, nest);
	}

	/* The token's bpffs: the mount the hook's path is on, if it is in the creator's namespace. */
	struct vfsmount *vmnt = needed(set, TW_ATTR_BPFFS) ? BPF_CORE_READ(path, mnt) : 0;
	if (vmnt) {
		struct mount *m = (struct mount *)((__u64)vmnt - bpf_core_field_offset(struct mount, mnt));
		if (BPF_CORE_READ(m, mnt_ns) == BPF_CORE_READ(task, nsproxy, mnt_ns))
			f->bpffs_ok = walk_path(w, set, (__u64)BPF_CORE_READ(path, dentry), (__u64)m, &f->bpffs_hash, nest);
	}
	return !w->failed;
}

/* Does the bpffs delegate more than a strict profile grants? What libbpf's probes need delegated
 * does not count for a profile that allows them. */
static __always_inline bool strict_excess(const struct facts *f, const struct tw_rules *r)
{
	__u64 maps = r->maps, progs = r->progs, attachs = r->attachs;
	if (r->probes_ok) {
		maps |= TW_PROBE_MAPS;
		progs |= TW_PROBE_PROGS;
		attachs |= TW_PROBE_ATTACHS;
	}
	return (f->masks[0] & ~r->cmds) || (f->masks[1] & ~maps) || (f->masks[2] & ~progs) || (f->masks[3] & ~attachs);
}

/* After matching: the verdict, and the token's record when it will exist. A separate subprogram
 * so that its locals are not on the stack during matching (the callbacks' chain is near 512 bytes). */
/* A slot of the token table for a token about to exist: one of its profile's `reserve` slots
 * while it holds fewer (`held` its live entry), else one of the `shared` slots, each taken with an
 * atomic fetch-and-add and given back when over. The token's flag for it, 0 when there is none. */
static __always_inline __u32 take_slot(struct tw_live *held, __u32 reserve, __u32 shared)
{
	if (held && reserve) {
		if (__sync_fetch_and_add(&held->reserved, 1) < reserve)
			return TW_TOKEN_RESERVED;
		__sync_fetch_and_sub(&held->reserved, 1);
	}
	__u32 zero = 0;
	__s64 *used = bpf_map_lookup_elem(&pool, &zero);
	if (!used)
		return 0;
	if (__sync_fetch_and_add(used, 1) < shared)
		return TW_TOKEN_SHARED;
	__sync_fetch_and_sub(used, 1);
	return 0;
}

static __always_inline void give_slot(struct tw_live *held, __u32 flags)
{
	__u32 zero = 0;
	__s64 *used = (flags & TW_TOKEN_SHARED) ? bpf_map_lookup_elem(&pool, &zero) : 0;
	if (used)
		__sync_fetch_and_sub(used, 1);
	if (held && (flags & TW_TOKEN_RESERVED))
		__sync_fetch_and_sub(&held->reserved, 1);
}

/* One more token of a creator: its count before, taken with one atomic add, or minus a reason that
 * fails closed. An entry marked gone (its last token's free is deleting it) is given back and
 * tried again, until that free has deleted it and a fresh entry can be made; a free stalled in
 * between for all the tries makes the creation fail closed (CREATOR_BUSY). */
static __always_inline __s64 join_creator(const struct tw_creator_key *k)
{
	for (int i = 0; i < 8; i++) {
		__s64 *n = bpf_map_lookup_elem(&creators, k);
		if (!n) {
			__s64 one = 1;
			long err = bpf_map_update_elem(&creators, k, &one, BPF_NOEXIST);
			if (!err)
				return 0;
			if (err != -17) /* not EEXIST (another creation made it first): full, or no memory */
				return -TW_R_CREATOR_TABLE_FULL;
			continue;
		}
		__s64 before = __sync_fetch_and_add(n, 1);
		if (before >= 0)
			return before;
		__sync_fetch_and_sub(n, 1);
	}
	return -TW_R_CREATOR_BUSY;
}

/* One token fewer: the last one marks the entry gone, only if nobody joined it meanwhile (a
 * compare-and-swap from 0), and deletes it; a creation that joins after the mark makes a fresh
 * entry once the delete is done. So no count is ever lost to a delete, and the table holds only
 * the creators that hold tokens. */
static __always_inline void leave_creator(const struct tw_creator_key *k)
{
	__s64 *n = bpf_map_lookup_elem(&creators, k);
	if (n && __sync_fetch_and_sub(n, 1) == 1 && __sync_val_compare_and_swap(n, 0, TW_CREATOR_GONE) == 0)
		bpf_map_delete_elem(&creators, k);
}

static __always_inline void leave_creators(const struct tw_token *t)
{
	if (t->flags & TW_TOKEN_BY_UID) {
		struct tw_creator_key k = {.profile_id = t->profile_id, .by = TW_BY_UID, .id = t->by_uid};
		leave_creator(&k);
	}
	if (t->flags & TW_TOKEN_BY_USERNS) {
		struct tw_creator_key k = {.profile_id = t->profile_id, .by = TW_BY_USERNS, .id = t->by_userns};
		leave_creator(&k);
	}
}

/* `limit tokens N per uid|userns` of the labelling profile: the token joins its creator's count
 * whatever the verdict (an audited token is live too), and is refused when the creator already
 * holds N. 0, or a reason that fails closed. */
static __always_inline int creator_share(struct decision *d, struct tw_token *state, __u32 by)
{
	__u32 limit = state->rules.limits[by == TW_BY_UID ? TW_LIM_UID_TOKENS : TW_LIM_USERNS_TOKENS];
	if (limit == 0xffffffff)
		return 0;
	__u32 id = by == TW_BY_UID ? state->by_uid : state->by_userns;
	struct tw_creator_key k = {.profile_id = state->profile_id, .by = by, .id = id};
	__s64 before = join_creator(&k);
	if (before < 0)
		return (int)-before;
	state->flags |= by == TW_BY_UID ? TW_TOKEN_BY_UID : TW_TOKEN_BY_USERNS;
	if (d->verdict == TW_V_ALLOW && before >= limit) {
		d->verdict = TW_V_DENY;
		d->reason = by == TW_BY_UID ? TW_R_UID_TOKENS_QUOTA : TW_R_USERNS_TOKENS_QUOTA;
		d->value = before + 1;
		d->limit = limit;
		d->what = id;
	}
	return 0;
}

static __noinline int decide_create(struct match_ctx *mp, struct tw_settings *set, __u64 token, void *nest)
{
	if (!mp || !set)
		return 0;
	struct match_ctx *m = mp;
	__u32 slot = m->slot;
	struct tw_token *state = bpf_map_lookup_elem(&scratch, nest);
	if (!state)
		return 0;
	__builtin_memset(state, 0, sizeof(*state));
	state->creator_tgid = bpf_get_current_pid_tgid() >> 32;
	state->by_uid = m->f.uid;
	state->by_userns = m->f.userns;
	state->generation = set->generation;
	struct decision d = {.hook = TW_HOOK_TOKEN_CREATE, .token = token, .src = (__u64)&m->f};
	int mode = set->mode;
	bool log_allowed = set->log_allowed;

	if (m->best_order == 0xffffffff) {
		d.err = set->err;
		if (set->default_allow) {
			d.reason = TW_R_UNCONFINED;
			state->flags = TW_TOKEN_UNCONFINED;
		} else {
			d.verdict = TW_V_DENY;
			d.reason = TW_R_NO_PROFILE;
			state->flags = TW_TOKEN_AUDIT_DEFAULT;
		}
	} else {
		struct tw_profile *p = profile_of(slot, m->best_id);
		if (!p) /* a match clause of a profile the table lacks: inconsistent tables */
			return fail_closed(TW_HOOK_TOKEN_CREATE, token);
		d.profile_id = p->id;
		d.err = p->rules.err;
		mode = p->rules.mode;
		d.reason = TW_R_LABELLED;
		state->profile_id = p->id;
		state->rules = p->rules;
		if (p->rules.log_allowed)
			state->flags = TW_TOKEN_LOG_ALLOWED;
		m->reserve = p->reserve_tokens;
		if (p->refuse) {
			d.verdict = TW_V_DENY;
			d.reason = TW_R_REFUSE;
		} else if (p->strict && strict_excess(&m->f, &p->rules)) {
			d.verdict = TW_V_DENY;
			d.reason = TW_R_STRICT;
		}
	}

	/* The profile's live tokens: each creation takes its place atomically before the verdict and
	 * gives it back when it is refused, so that concurrent creations never pass `limit tokens`
	 * together, not even by one. Without its counters (the table is full) a limit cannot be
	 * checked: refused. */
	struct tw_live *held = live_of(state->profile_id);
	__s64 *c = held ? &held->tokens : 0;
	__s64 live = c ? __sync_fetch_and_add(c, 1) : 0;
	if (c)
		state->flags |= TW_TOKEN_LIVE; /* its free gives the place back */
	__u32 limit = state->rules.limits[TW_LIM_TOKENS];
	if (m->best_order != 0xffffffff && limit != 0xffffffff && d.verdict == TW_V_ALLOW && (!c || live >= limit)) {
		d.verdict = TW_V_DENY;
		d.reason = TW_R_TOKENS_QUOTA;
		d.value = c ? live + 1 : 0;
		d.limit = limit;
	}

	/* Its creator's share of the profile, when the profile limits it. A creator count that cannot
	 * be kept fails closed, whatever the mode. */
	int reason = 0;
	if (m->best_order != 0xffffffff) {
		reason = creator_share(&d, state, TW_BY_UID);
		if (!reason)
			reason = creator_share(&d, state, TW_BY_USERNS);
	}

	/* An allowed creation is counted in the record (like every allowed use, folded into the
	 * profile's counters when the token is freed): one counters lookup fewer. */
	int ret = reason ? 0 : finish(&d, mode, log_allowed, d.verdict == TW_V_ALLOW ? state : 0);
	if (ret) {
		if (c)
			__sync_fetch_and_sub(c, 1);
		leave_creators(state);
		return ret;
	}
	/* The token will exist: it takes a slot of the token table, one its profile reserves or a
	 * shared one, and its record is remembered. No slot, or a full table, fails closed. */
	__u64 key = token;
	__u32 slot_flag = 0;
	if (!reason) {
		slot_flag = take_slot(held, m->best_order == 0xffffffff ? 0 : m->reserve, set->shared_tokens);
		if (!slot_flag)
			reason = TW_R_TOKEN_SHARE_FULL;
	}
	state->flags |= slot_flag;
	if (!reason && bpf_map_update_elem(&tokens, &key, state, BPF_ANY)) {
		give_slot(held, slot_flag);
		reason = TW_R_TOKEN_MAP_FULL;
	}
	if (!reason)
		return 0;
	if (c)
		__sync_fetch_and_sub(c, 1);
	leave_creators(state);
	struct tw_stats *st = global_stats();
	if (st && reason == TW_R_CREATOR_TABLE_FULL)
		st->creator_map_full++;
	else if (st && reason != TW_R_CREATOR_BUSY)
		st->token_map_full++;
	struct decision full = {.hook = TW_HOOK_TOKEN_CREATE, .verdict = TW_V_DENY, .reason = reason,
				.err = reason == TW_R_CREATOR_BUSY ? TW_EBUSY : TW_ENOSPC,
				.profile_id = state->profile_id, .token = key};
	return finish(&full, TW_MODE_ENFORCE, false, 0);
}


static __noinline int create(struct bpf_token *token, const struct path *path, void *nest)
{
	struct tw_ctl *c = live_ctl();
	if (!c)
		return fail_closed(TW_HOOK_TOKEN_CREATE, (__u64)token);
	__u32 slot = c->slot & 1;
	struct tw_settings *set = settings_of(c);
	if (!set || !tables_present(slot))
		return fail_closed(TW_HOOK_TOKEN_CREATE, (__u64)token);

	struct match_ctx *m = match_scratch(nest);
	if (!m)
		return fail_closed(TW_HOOK_TOKEN_CREATE, (__u64)token);
	__builtin_memset(m, 0, sizeof(*m));
	m->slot = slot;
	m->best_order = 0xffffffff;
	if (!gather_facts(&m->f, token, path, set, nest)) /* a path that could not be read: fail closed */
		return fail_closed(TW_HOOK_TOKEN_CREATE, (__u64)token);

	/* Candidates: every exact value this creator and token have that an atom tests, then the
	 * scan list. */
	if (needed(set, TW_ATTR_UID))
		lookup_key(m, TW_ATTR_UID, m->f.uid, 0, nest);
	if (needed(set, TW_ATTR_GID))
		lookup_key(m, TW_ATTR_GID, m->f.gid, 0, nest);
	if (needed(set, TW_ATTR_USERNS_OWNER))
		lookup_key(m, TW_ATTR_USERNS_OWNER, m->f.owner, 0, nest);
	if (needed(set, TW_ATTR_USERNS_DEPTH))
		lookup_key(m, TW_ATTR_USERNS_DEPTH, m->f.depth, 0, nest);
	if (m->f.exe_ok)
		lookup_key(m, TW_ATTR_EXE, m->f.exe_dev, m->f.exe_hash, nest);
	if (m->f.bpffs_ok)
		lookup_key(m, TW_ATTR_BPFFS, m->f.bpffs_hash, 0, nest);
	if (m->f.cgroup_ok && needed(set, TW_ATTR_CGROUP_IS))
		lookup_key(m, TW_ATTR_CGROUP_IS, m->f.cgroup_hash, 0, nest);
	if (needed(set, TW_ATTR_COMM)) {
		__u64 c0 = 0, c1 = 0;
		__builtin_memcpy(&c0, m->f.comm, 8);
		__builtin_memcpy(&c1, m->f.comm + 8, 8);
		lookup_key(m, TW_ATTR_COMM, c0, c1, nest);
	}
	__u32 levels = m->f.under_upto;
	bpf_loop(levels > TW_CGROUP_LEVELS ? TW_CGROUP_LEVELS : levels, cgroup_cb, nest, 0);
	bpf_loop(set->n_scan > TW_MAX_SCAN ? TW_MAX_SCAN : set->n_scan, scan_cb, nest, 0);

	return decide_create(m, set, (__u64)token, nest);
}

SEC("lsm/bpf_token_create")
int BPF_PROG(tw_token_create, struct bpf_token *token, union bpf_attr *attr, const struct path *path)
{
	__u32 nest = nest_take();
	if (nest >= TW_CREATE_NEST) /* four programs preempted inside this hook on this CPU */
		return fail_closed(TW_HOOK_TOKEN_CREATE, (__u64)token);
	int ret = create(token, path, &nest);
	nest_leave(nest);
	return ret;
}

SEC("lsm/bpf_token_free")
int BPF_PROG(tw_token_free, struct bpf_token *token)
{
	__u64 key = (__u64)token;
	struct tw_token *t = bpf_map_lookup_elem(&tokens, &key);
	if (!t)
		return 0;
	/* Its allowed uses join its profile's counters; it leaves the profile's live tokens. */
	__u64 id = t->profile_id;
	struct tw_counters *c = counters_of(id);
	if (c)
		for (int h = 0; h < TW_HOOK_COUNT; h++)
			c->allowed[h] += t->allowed[h];
	struct tw_live *n = (t->flags & (TW_TOKEN_LIVE | TW_TOKEN_RESERVED)) ? bpf_map_lookup_elem(&live, &id) : 0;
	if (n && (t->flags & TW_TOKEN_LIVE))
		__sync_fetch_and_sub(&n->tokens, 1);
	give_slot(n, t->flags);
	leave_creators(t);
	bpf_map_delete_elem(&tokens, &key);
	return 0;
}

/* The address of hook argument `n` as a plain number (the token table is keyed by address).
 * Observed on 6.12: in bpf_prog_load, `key = (__u64)token; if (!key) key = prog->aux->token`
 * still produced key 0 for token-backed loads, while reading the argument with
 * bpf_probe_read_kernel gives the verifier nothing to reason about and works on 6.12 and 7.x.
 * Used wherever the argument may legitimately be NULL (calls without a token). */
static __always_inline __u64 arg_u64(unsigned long long *ctx, int n)
{
	__u64 v = 0;
	bpf_probe_read_kernel(&v, sizeof(v), &ctx[n]);
	return v;
}

/* ---- decisions on a labelled token ------------------------------------------------------------- */

struct use_ctx {
	const struct tw_rules *r; /* what governs the token */
	struct tw_token *t;       /* null: the token predates the policy */
	int mode;
	bool log_allowed;
};

/* Finds what governs `token`; false when nothing applies (no policy, or unconfined). On a
 * refusal that does not depend on the operation (preexisting deny, audited default deny, tables
 * that are missing or inconsistent), `d` is filled and *early is set.
 *
 * The common case costs one hash lookup: a token labelled by the live generation carries that
 * generation's rules in its record. A token from an earlier generation (before a replace) or
 * from before the policy takes the long way through the live generation's tables. */
static __always_inline bool resolve(__u64 key, struct use_ctx *u, struct decision *d, bool *early)
{
	*early = false;
	d->token = key;
	struct tw_ctl *c = live_ctl();
	if (!c)
		goto incomplete;
	__u64 generation = c->generation;
	__u32 slot = c->slot & 1;
	u->t = bpf_map_lookup_elem(&tokens, &key);
	struct tw_token *t = u->t;
	if (t && t->generation == generation && !(t->flags & TW_TOKEN_AUDIT_DEFAULT)) {
		if (t->flags & TW_TOKEN_UNCONFINED)
			return false;
		u->r = &t->rules;
		u->mode = t->rules.mode;
		u->log_allowed = t->rules.log_allowed;
		d->profile_id = t->profile_id;
		d->err = t->rules.err;
		return true;
	}

	struct tw_settings *set = settings_of(c);
	if (!set || !bpf_map_lookup_elem(&gen_profiles, &slot))
		goto incomplete;
	u->mode = set->mode;
	u->log_allowed = set->log_allowed;
	__u64 id = 0;
	if (!t) {
		if (set->preexisting == TW_PRE_ALLOW)
			return false;
		if (set->preexisting == TW_PRE_DENY) {
			d->verdict = TW_V_DENY;
			d->reason = TW_R_PREEXISTING;
			d->err = set->err;
			*early = true;
			return true;
		}
		id = set->preexisting_id;
	} else {
		if (t->flags & TW_TOKEN_UNCONFINED)
			return false;
		if (t->flags & TW_TOKEN_AUDIT_DEFAULT) {
			d->verdict = TW_V_DENY;
			d->reason = TW_R_NO_PROFILE;
			d->err = set->err;
			*early = true;
			return true;
		}
		id = t->profile_id;
	}
	struct tw_profile *p = profile_of(slot, id);
	if (!p) {
		/* Its profile is gone from the live policy: treat it like a token from before it. */
		if (set->preexisting == TW_PRE_ALLOW)
			return false;
		d->verdict = TW_V_DENY;
		d->reason = TW_R_NO_POLICY_PROFILE;
		d->err = set->err;
		d->profile_id = id;
		*early = true;
		return true;
	}
	u->r = &p->rules;
	d->profile_id = p->id;
	d->err = p->rules.err;
	u->mode = p->rules.mode;
	u->log_allowed = p->rules.log_allowed;
	return true;

incomplete:
	/* Refused in enforce mode, whatever the policy says (it cannot be read). */
	d->verdict = TW_V_DENY;
	d->reason = TW_R_INCOMPLETE;
	d->err = TW_EPERM;
	u->mode = TW_MODE_ENFORCE;
	u->log_allowed = false;
	u->t = 0;
	*early = true;
	return true;
}

static __always_inline bool has(__u64 mask, __u32 bit)
{
	return bit < 64 && (mask & (1ULL << bit));
}

/* The common case, decided without a decision record: a token labelled by the live generation,
 * confined, whose profile does not log allowed uses (one test of its flags). Null: the long way
 * (resolve) decides. */
static __always_inline struct tw_token *labelled_live(__u64 key)
{
	struct tw_ctl *c = live_ctl();
	if (!c)
		return 0;
	struct tw_token *t = bpf_map_lookup_elem(&tokens, &key);
	if (!t || t->generation != c->generation || (t->flags & (TW_TOKEN_AUDIT_DEFAULT | TW_TOKEN_LOG_ALLOWED)))
		return 0;
	return t;
}

/* What a profile says of a map creation or a program load: reason 0 (TW_R_ALLOWED) or the
 * refusal's, with the value over its limit; `probe` for libbpf's probe shapes (allowed, not
 * counted). The one copy of the rules, for the fast path and the long way alike. */
struct verdict_of {
	int reason;
	bool probe;
	__u64 value;
	__u32 limit;
};

static __always_inline bool over_limit(struct verdict_of *v, __u64 value, __u32 limit, int reason)
{
	if (limit == 0xffffffff || value <= limit)
		return false;
	v->reason = reason;
	v->value = value;
	v->limit = limit;
	return true;
}

/* A map's sizes against the limits of its type's group, or the profile's own. */
static __always_inline bool sizes_over(const struct tw_rules *p, union bpf_attr *attr, __u32 type, struct verdict_of *v)
{
	__u32 max_entries = p->limits[TW_LIM_MAX_ENTRIES], key_size = p->limits[TW_LIM_KEY_SIZE],
	      value_size = p->limits[TW_LIM_VALUE_SIZE];
	for (int i = 0; i < TW_MAX_TYPE_LIMITS; i++) {
		const struct tw_type_limit *g = &p->type_limits[i];
		if (!g->maps)
			break; /* groups are packed from the first: a profile without any tests one word */
		if (has(g->maps, type)) {
			max_entries = g->max_entries;
			key_size = g->key_size;
			value_size = g->value_size;
			break;
		}
	}
	return over_limit(v, attr->max_entries, max_entries, TW_R_MAX_ENTRIES) ||
	       over_limit(v, attr->key_size, key_size, TW_R_KEY_SIZE) ||
	       over_limit(v, attr->value_size, value_size, TW_R_VALUE_SIZE);
}

static __always_inline void map_rules(const struct tw_rules *p, union bpf_attr *attr, const struct tw_token *t,
				      struct verdict_of *v)
{
	__u32 type = attr->map_type, flags = attr->map_flags;
	if (!has(p->cmds, BPF_MAP_CREATE))
		v->reason = TW_R_CMD;
	else if (p->probes_ok && type == TW_PROBE_MAP_TYPE && attr->max_entries == 1 && attr->key_size == 4 &&
		 attr->value_size <= TW_PROBE_VALUE_SIZE && !(flags & p->forbidden_map_flags))
		v->probe = true;
	else if (!has(p->maps, type))
		v->reason = TW_R_MAP_TYPE;
	else if (sizes_over(p, attr, type, v)) {
	} else if (flags & p->forbidden_map_flags)
		v->reason = TW_R_MAP_FLAGS;
	else if (t)
		over_limit(v, (__u64)t->maps + 1, p->limits[TW_LIM_MAPS], TW_R_MAPS_QUOTA);
}

static __always_inline void prog_rules(const struct tw_rules *p, union bpf_attr *attr, const struct tw_token *t,
				       struct verdict_of *v)
{
	__u32 type = attr->prog_type, attach = attr->expected_attach_type;
	if (!has(p->cmds, BPF_PROG_LOAD))
		v->reason = TW_R_CMD;
	else if (p->probes_ok && type == TW_PROBE_PROG_TYPE && attach == TW_PROBE_ATTACH_TYPE &&
		 attr->insn_cnt <= TW_PROBE_INSNS && !(attr->prog_flags & BPF_F_SLEEPABLE_FLAG))
		v->probe = true;
	else if (!has(p->progs, type))
		v->reason = TW_R_PROG_TYPE;
	else if (!has(p->attachs, attach))
		v->reason = TW_R_ATTACH_TYPE;
	else if (over_limit(v, attr->insn_cnt, p->limits[TW_LIM_INSNS], TW_R_INSNS)) {
	} else if ((attr->prog_flags & BPF_F_SLEEPABLE_FLAG) && !p->sleepable_ok)
		v->reason = TW_R_SLEEPABLE;
	else if (t)
		over_limit(v, (__u64)t->progs + 1, p->limits[TW_LIM_PROGS], TW_R_PROGS_QUOTA);
}

static __always_inline void refuse(struct decision *d, const struct verdict_of *v)
{
	if (!v->reason)
		return;
	d->verdict = TW_V_DENY;
	d->reason = v->reason;
	d->value = v->value;
	d->limit = v->limit;
}

SEC("lsm/bpf_token_cmd")
int BPF_PROG(tw_token_cmd, const struct bpf_token *token, enum bpf_cmd cmd)
{
	struct tw_token *t = labelled_live((__u64)token);
	if (t && ((t->flags & TW_TOKEN_UNCONFINED) || has(t->rules.cmds, cmd))) {
		if (!(t->flags & TW_TOKEN_UNCONFINED))
			t->allowed[TW_HOOK_TOKEN_CMD]++;
		return 0;
	}
	struct use_ctx u = {};
	struct decision d = {.hook = TW_HOOK_TOKEN_CMD, .what = cmd};
	bool early;
	if (!resolve((__u64)token, &u, &d, &early))
		return 0;
	if (!early && !has(u.r->cmds, cmd)) {
		d.verdict = TW_V_DENY;
		d.reason = TW_R_CMD;
	}
	return finish(&d, u.mode, u.log_allowed, u.t);
}

SEC("lsm/bpf_token_capable")
int BPF_PROG(tw_token_capable, const struct bpf_token *token, int cap)
{
	struct tw_token *t = labelled_live((__u64)token);
	if (t && ((t->flags & TW_TOKEN_UNCONFINED) || has(t->rules.caps, cap))) {
		if (!(t->flags & TW_TOKEN_UNCONFINED))
			t->allowed[TW_HOOK_TOKEN_CAPABLE]++;
		return 0;
	}
	struct use_ctx u = {};
	struct decision d = {.hook = TW_HOOK_TOKEN_CAPABLE, .what = cap};
	bool early;
	if (!resolve((__u64)token, &u, &d, &early))
		return 0;
	if (!early && !has(u.r->caps, cap)) {
		d.verdict = TW_V_DENY;
		d.reason = TW_R_CAP;
	}
	return finish(&d, u.mode, u.log_allowed, u.t);
}

/* `limit maps|progs N per profile`: an object takes a place in its profile's live count before it
 * is allowed, atomically, so that concurrent creations never pass the limit together, not even by
 * one, and is remembered by address so that its free gives the place back. False, with the
 * refusal in `v`, when the profile is at its limit, its count cannot be kept, or the object table
 * is full (both fail closed). */
static __always_inline bool take_place(bool map, __u64 obj, __u64 profile_id, const struct tw_rules *r,
				       struct verdict_of *v)
{
	__u32 limit = r->limits[map ? TW_LIM_PROFILE_MAPS : TW_LIM_PROFILE_PROGS];
	if (limit == 0xffffffff)
		return true;
	v->reason = map ? TW_R_MAPS_PROFILE_QUOTA : TW_R_PROGS_PROFILE_QUOTA;
	v->limit = limit;
	struct tw_live *held = live_of(profile_id);
	if (!held)
		return false;
	__s64 *n = map ? &held->maps : &held->progs;
	__s64 before = __sync_fetch_and_add(n, 1);
	if (before >= limit) {
		__sync_fetch_and_sub(n, 1);
		v->value = before + 1;
		return false;
	}
	struct tw_object o = {.profile_id = profile_id, .kind = map ? TW_OBJECT_MAP : TW_OBJECT_PROG};
	if (bpf_map_update_elem(&objects, &obj, &o, BPF_NOEXIST)) {
		__sync_fetch_and_sub(n, 1);
		struct tw_stats *st = global_stats();
		if (st)
			st->object_map_full++;
		v->reason = TW_R_OBJECT_TABLE_FULL;
		v->limit = 0;
		return false;
	}
	v->reason = 0;
	v->limit = 0;
	return true;
}

/* A map creation or a program load of object `obj` through token `key` (`hook`
 * TW_HOOK_MAP_CREATE or TW_HOOK_PROG_LOAD, a constant at each call site): the fast path for a
 * token labelled by the live generation, else the long way; an allowed object is counted against
 * the token's quota, and against its profile's when it has one (the long way: it may refuse). */
static __always_inline int object_use(int hook, __u64 key, __u64 obj, union bpf_attr *attr)
{
	bool map = hook == TW_HOOK_MAP_CREATE;
	struct tw_token *t = labelled_live(key);
	if (t && (t->flags & TW_TOKEN_UNCONFINED))
		return 0;
	struct verdict_of v = {};
	if (t) {
		if (map)
			map_rules(&t->rules, attr, t, &v);
		else
			prog_rules(&t->rules, attr, t, &v);
		if (!v.reason &&
		    (v.probe || t->rules.limits[map ? TW_LIM_PROFILE_MAPS : TW_LIM_PROFILE_PROGS] == 0xffffffff)) {
			t->allowed[hook]++;
			if (!v.probe)
				__sync_fetch_and_add(map ? &t->maps : &t->progs, 1);
			return 0;
		}
	}
	struct use_ctx u = {};
	/* What the event names, read here: the fast path above has no use for it. */
	struct decision d = {.hook = hook,
			     .what = map ? attr->map_type : attr->prog_type,
			     .what2 = map ? attr->map_flags : attr->expected_attach_type,
			     .src = (__u64)attr};
	bool early;
	if (!resolve(key, &u, &d, &early))
		return 0;
	v = (struct verdict_of){};
	if (!early) {
		if (map)
			map_rules(u.r, attr, u.t, &v);
		else
			prog_rules(u.r, attr, u.t, &v);
		if (!v.reason && !v.probe)
			take_place(map, obj, d.profile_id, u.r, &v);
		refuse(&d, &v);
	}
	int ret = finish(&d, u.mode, u.log_allowed, u.t);
	if (!ret && u.t && !v.probe)
		__sync_fetch_and_add(map ? &u.t->maps : &u.t->progs, 1);
	return ret;
}

/* A map or program leaves the kernel: if it was counted in its profile's live objects, its place
 * is given back. Every free of the host comes here, and costs one lookup. */
static __always_inline void give_back(__u64 obj, __u32 kind)
{
	struct tw_object *o = bpf_map_lookup_elem(&objects, &obj);
	if (!o || o->kind != kind)
		return;
	__u64 id = o->profile_id;
	struct tw_live *n = bpf_map_lookup_elem(&live, &id);
	if (n)
		__sync_fetch_and_sub(kind == TW_OBJECT_MAP ? &n->maps : &n->progs, 1);
	bpf_map_delete_elem(&objects, &obj);
}

SEC("lsm/bpf_map_free")
int BPF_PROG(tw_map_free, struct bpf_map *map)
{
	give_back((__u64)map, TW_OBJECT_MAP);
	return 0;
}

SEC("lsm/bpf_prog_free")
int BPF_PROG(tw_prog_free, struct bpf_prog *prog)
{
	give_back((__u64)prog, TW_OBJECT_PROG);
	return 0;
}

SEC("lsm/bpf_map_create")
int BPF_PROG(tw_map_create, struct bpf_map *map, union bpf_attr *attr, struct bpf_token *token)
{
	__u64 key = arg_u64(ctx, 2);
	if (!key)
		return 0; /* not token-backed: the kernel's own checks apply */
	return object_use(TW_HOOK_MAP_CREATE, key, (__u64)map, attr);
}

static __noinline int guard_refuse(int op, __u64 object); /* the guard, below */

SEC("lsm/bpf_prog_load")
int BPF_PROG(tw_prog_load, struct bpf_prog *prog, union bpf_attr *attr, struct bpf_token *token)
{
	/* Before 7.x bpf_prog_load() moves the token into prog->aux->token before it calls the hook,
	 * which then gets NULL (seen on 6.12): read it where the kernel keeps it, with direct loads
	 * through the trusted `prog` (cheaper than probe reads). Only its address is used (the key
	 * of the token table). */
	__u64 key = arg_u64(ctx, 2);
	if (!key)
		key = (__u64)prog->aux->token;
	if (!key)
		return 0;
	if (attr->prog_type == BPF_PROG_TYPE_TRACING && attr->expected_attach_type == BPF_MODIFY_RETURN)
		return guard_refuse(TW_GUARD_MODIFY_RETURN, attr->attach_btf_id);
	return object_use(TW_HOOK_PROG_LOAD, key, (__u64)prog, attr);
}

/* ---- the guard: tokenwarden's own objects ----------------------------------------------------
 *
 * File modes keep tokenwarden's pins from every host uid but 0. A user namespace whose root is
 * host uid 0 passes them, and a token holder may load programs of its own: the guard refuses
 * both, in the kernel, whatever the policy says (guard.def lists what it refuses):
 *  - to a task outside the initial user namespace: an fd of tokenwarden's maps and programs
 *    however it is asked for (the bpf_map and bpf_prog hooks see every fd the kernel makes for
 *    them: BPF_OBJ_GET, *_GET_FD_BY_ID), its links by id, and every change to the pin
 *    directory and what is in it (unlink, rmdir, rename, link, create, mkdir, symlink, setattr);
 *  - to every token-backed program load: fmod_ret programs, which can make any security_*
 *    function return what they like (the kernel lets them attach there), so an LSM's verdict too.
 * The loader fills guard_ids (every map, program and link it makes, inner maps included) and
 * guard_dir (the pin directory's inode) before it attaches anything; root in the initial user
 * namespace keeps full access, so load, replace, unload and status work as before. */

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, TW_GUARD_IDS);
	__type(key, struct tw_guard_id);
	__type(value, __u32);
} guard_ids SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct tw_guard_dir);
} guard_dir SEC(".maps");

static __always_inline bool outside_init_userns(void)
{
	struct task_struct *task = bpf_get_current_task_btf();
	return task->cred->user_ns->level != 0; /* direct loads: cheaper than probe reads */
}

static __always_inline bool guarded_id(__u32 kind, __u32 id)
{
	struct tw_guard_id key = {.kind = kind, .id = id};
	return id && bpf_map_lookup_elem(&guard_ids, &key);
}

static __always_inline bool guarded_inode(struct inode *inode)
{
	__u32 zero = 0;
	struct tw_guard_dir *g = bpf_map_lookup_elem(&guard_dir, &zero);
	if (!g || !g->set || !inode)
		return false;
	return BPF_CORE_READ(inode, i_ino) == g->ino && BPF_CORE_READ(inode, i_sb, s_dev) == g->dev;
}

/* The dentry's own inode, or its parent's (a pin in the directory). */
static __always_inline bool guarded_dentry(struct dentry *dentry)
{
	return dentry && (guarded_inode(BPF_CORE_READ(dentry, d_inode)) ||
			  guarded_inode(BPF_CORE_READ(dentry, d_parent, d_inode)));
}

/* A refusal: counted by operation, sent as an event like every refusal, never turned off. */
static __noinline int guard_refuse(int op, __u64 object)
{
	struct tw_stats *st = global_stats();
	if (st && op >= 0 && op < TW_GUARD_COUNT)
		__sync_fetch_and_add(&st->guard[op], 1);
	struct decision d = {.hook = TW_HOOK_GUARD, .verdict = TW_V_DENY, .reason = TW_R_GUARD, .err = TW_EPERM,
			     .what = op, .what2 = (__u32)object, .value = object};
	emit(&d);
	return -TW_EPERM;
}

SEC("lsm/bpf_map")
int BPF_PROG(tw_guard_map, struct bpf_map *map, unsigned int fmode)
{
	if (!outside_init_userns())
		return 0;
	__u32 id = map->id;
	return guarded_id(TW_GUARD_KIND_MAP, id) ? guard_refuse(TW_GUARD_MAP_FD, id) : 0;
}

SEC("lsm/bpf_prog")
int BPF_PROG(tw_guard_prog, struct bpf_prog *prog)
{
	if (!outside_init_userns())
		return 0;
	__u32 id = prog->aux->id;
	return guarded_id(TW_GUARD_KIND_PROG, id) ? guard_refuse(TW_GUARD_PROG_FD, id) : 0;
}

/* The first three arguments are the same on every kernel since 6.9 (6.15 added `kernel`). */
SEC("lsm/bpf")
int BPF_PROG(tw_guard_bpf, int cmd, union bpf_attr *attr, unsigned int size)
{
	__u32 kind; /* the command first: every bpf() call of the host comes here */
	switch (cmd) {
	case BPF_MAP_GET_FD_BY_ID: kind = TW_GUARD_KIND_MAP; break;
	case BPF_PROG_GET_FD_BY_ID: kind = TW_GUARD_KIND_PROG; break;
	case BPF_LINK_GET_FD_BY_ID: kind = TW_GUARD_KIND_LINK; break;
	default: return 0;
	}
	if (!outside_init_userns())
		return 0;
	__u32 id = attr->map_id; /* one union: map_id, prog_id and link_id */
	return guarded_id(kind, id) ? guard_refuse(TW_GUARD_BY_ID, id) : 0;
}

static __always_inline int guard_dir_op(int op, struct inode *dir, struct dentry *dentry)
{
	if (!outside_init_userns() || (!guarded_inode(dir) && !guarded_dentry(dentry)))
		return 0;
	struct inode *inode = dentry ? BPF_CORE_READ(dentry, d_inode) : 0;
	return guard_refuse(op, inode ? BPF_CORE_READ(inode, i_ino) : 0);
}

SEC("lsm/inode_unlink")
int BPF_PROG(tw_guard_unlink, struct inode *dir, struct dentry *dentry)
{
	return guard_dir_op(TW_GUARD_UNLINK, dir, dentry);
}

SEC("lsm/inode_rmdir")
int BPF_PROG(tw_guard_rmdir, struct inode *dir, struct dentry *dentry)
{
	return guard_dir_op(TW_GUARD_RMDIR, dir, dentry);
}

SEC("lsm/inode_rename")
int BPF_PROG(tw_guard_rename, struct inode *old_dir, struct dentry *old_dentry, struct inode *new_dir,
	     struct dentry *new_dentry)
{
	int ret = guard_dir_op(TW_GUARD_RENAME, old_dir, old_dentry);
	return ret ? ret : guard_dir_op(TW_GUARD_RENAME, new_dir, new_dentry);
}

SEC("lsm/inode_link")
int BPF_PROG(tw_guard_link, struct dentry *old_dentry, struct inode *dir, struct dentry *new_dentry)
{
	int ret = guard_dir_op(TW_GUARD_LINK, 0, old_dentry);
	return ret ? ret : guard_dir_op(TW_GUARD_LINK, dir, 0);
}

SEC("lsm/inode_create")
int BPF_PROG(tw_guard_create, struct inode *dir, struct dentry *dentry)
{
	return guard_dir_op(TW_GUARD_CREATE, dir, 0);
}

SEC("lsm/inode_mkdir")
int BPF_PROG(tw_guard_mkdir, struct inode *dir, struct dentry *dentry)
{
	return guard_dir_op(TW_GUARD_MKDIR, dir, 0);
}

SEC("lsm/inode_symlink")
int BPF_PROG(tw_guard_symln, struct inode *dir, struct dentry *dentry)
{
	return guard_dir_op(TW_GUARD_SYMLINK, dir, 0);
}

/* Since 6.3: (idmap, dentry, iattr). */
SEC("lsm/inode_setattr")
int BPF_PROG(tw_guard_attr, void *idmap, struct dentry *dentry)
{
	return guard_dir_op(TW_GUARD_SETATTR, 0, dentry);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL"; /* GPL-compatible: the helpers it calls need that */
