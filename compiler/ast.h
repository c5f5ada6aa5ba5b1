// SPDX-License-Identifier: Apache-2.0
// The syntax tree the parser builds: statements as written, names not yet resolved. The checker
// (checker.h) turns it into a CheckedPolicy; nothing after the checker looks at the AST.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "source.h"

namespace tw::compiler {

struct Name {
  std::string text;
  Span span;
};

struct Number {
  uint64_t value = 0;
  Span span;
};

struct StringLit {
  std::string value;
  Span span;
};

// One predicate of a match clause, as written:
//   creator.uid in 1000..1999, 3000      attr=creator.uid op=in ranges
//   creator.exe == "/usr/bin/agent"      attr=creator.exe op=== strings
//   creator.cgroup under "/ci.slice"     attr=creator.cgroup op=under strings
//   creator.selinux_type == container_t  attr=creator.selinux_type op=== strings (names allowed)
//   token delegates any prog kprobe, tracing
struct Predicate {
  Name attr;
  Name op;  // "==", "!=", "<", "<=", ">", ">=", "in", "under", "delegates"
  std::vector<std::pair<Number, Number>> ranges;  // single values have lo == hi
  std::vector<StringLit> strings;
  Name quantifier;  // delegates: "any" | "all" | "" (all)
  Name kind;        // delegates: cmd | map | prog | attach (plural accepted)
  std::vector<Name> names;
};

struct Expr {
  enum class Kind { any, all_of, any_of, negation, predicate } kind = Kind::any;
  Span span;
  std::vector<Expr> children;  // all_of / any_of: 2+, negation: 1
  Predicate pred;
};

// Every statement, at top level or inside a block; the checker says which go where (E029).
struct Stmt {
  enum class Kind {
    include,      // include "file.tw";
    policy,       // policy NAME;
    default_,     // default allow|deny;
    preexisting,  // preexisting allow|deny|profile NAME;
    mode,         // mode enforce|audit|off;
    errno_,       // errno EPERM;
    profile,      // profile NAME { ... }
    grants,       // grants NAME { ... }
    match,        // match EXPR;
    use,          // use NAME, NAME;
    allow,        // allow cmd|map|prog|attach|cap NAME, ...;
    limit,        // limit max_entries 4096; limit maps 8 per profile; limit max_entries 16777216 for map ringbuf;
    forbid,       // forbid sleepable; forbid map_flags mmapable, numa_node;
    refuse,       // refuse;
    strict,       // strict;
    reserve,      // reserve tokens 4;
  } kind = Kind::policy;
  Span span;      // the whole statement
  Name keyword;
  Name target;    // the word after the keyword: block name, allow kind, limit name, setting value
  std::vector<Name> names;  // lists: use, allow, forbid, limit ... for map; preexisting profile NAME
  Name per;       // limit ... per token|profile|uid|userns
  Name for_kind;  // limit ... for map TYPE, ...: `map`
  std::optional<Number> number;
  std::optional<StringLit> path;
  std::unique_ptr<Expr> match;  // boxed: most statements have none
  std::vector<Stmt> body;   // profile / grants
  uint32_t file = kNoFile;  // which file the statement came from (includes are flattened)
};

}  // namespace tw::compiler
