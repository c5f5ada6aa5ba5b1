#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# The real-system flavour's driver, run by tw-system-test.service once the system is up. Each
# case prints one line `TWSYS-RESULT <case> PASS|FAIL|KNOWN <detail>` (KNOWN: a failure that is
# expected today, with its reason); the host (tests/vm/system/run.py) turns them into results.
tw=/usr/local/bin/tokenwarden
echo "TWSYS-BOOTED"
echo "TWSYS-VERSIONS kernel=$(uname -r) $(systemctl --version | head -n1 | cut -d' ' -f1-2 | tr ' ' '=')" \
     "libbpf=$(dpkg-query -W -f='${Version}' libbpf1) bpftool=$(dpkg-query -W -f='${Version}' bpftool)"
result() { echo "TWSYS-RESULT $1 $2 $3" | tr '\n' ' '; echo; }
# journal lines of one unit's last start
unit_log() { journalctl -u "$1" -o cat --no-pager 2>/dev/null; }
# runs a unit to completion; its journal; the audit lines since the last call
run_unit() {
  systemctl start "$1" >/dev/null 2>&1
  LOG=$(unit_log "$1")
  AUDIT=$($tw audit 2>&1)
}
fail_detail() {
  echo "$1 | unit: $(echo "$LOG" | tail -n6) | refusals: $(echo "$AUDIT" | grep -v ' allow ' | grep -v CAP_PERFMON | head -n4)"
}

# 1. The policy was enforcing before any delegating unit ran: tokenwarden.service (before
# sysinit.target) logged its load before the boot client (multi-user.target) started, the boot
# client loaded under its profile, and status shows the policy.
journal=$(journalctl -b -o short-monotonic --no-pager 2>/dev/null)
loaded_at=$(echo "$journal" | grep -n "loaded policy \`system-vm\`" | head -n1 | cut -d: -f1)
client_at=$(echo "$journal" | grep -n "TW-BOOT-CLIENT-START" | head -n1 | cut -d: -f1)
AUDIT=$($tw audit 2>&1)
if systemctl is-active --quiet tokenwarden.service && $tw status | grep -q "policy \`system-vm\`" &&
   [ -n "$loaded_at" ] && [ -n "$client_at" ] && [ "$loaded_at" -lt "$client_at" ] &&
   journalctl -u tw-boot-client.service -o cat --no-pager | grep -q TW-PROG-LOADED &&
   echo "$AUDIT" | grep -q "allow bpf_token_create .*profile=boot-client"; then
  result policy_at_boot PASS "journal line $loaded_at: $(echo "$journal" | sed -n "${loaded_at}p" | sed 's/.*loaded policy/loaded policy/' | cut -c1-60); line $client_at: the boot client starts, and loads under boot-client; $($tw status | head -n1)"
else
  result policy_at_boot FAIL "load at line ${loaded_at:-none}, boot client at line ${client_at:-none}: $(systemctl status tokenwarden.service 2>&1 | tail -n4) $(journalctl -u tw-boot-client.service -o cat --no-pager | tail -n3)"
fi

# 2 + 3. A unit with PrivateBPF= and BPFDelegate*=: systemd's bpffs carries the delegation, and
# Debian's bpftool (libbpf) loads through the token it finds by itself, under its profile.
run_unit tw-libbpf.service
if echo "$LOG" | grep -q "delegate_cmds=map_create:prog_load:btf_load,delegate_maps=array,delegate_progs=socket_filter,delegate_attachs=cgroup_inet_ingress"; then
  result private_bpf_delegation PASS "$(echo "$LOG" | grep delegate_cmds | sed 's/.* - bpf //')"
else
  result private_bpf_delegation FAIL "$(fail_detail "no delegated bpffs in the unit's mountinfo")"
fi
if echo "$LOG" | grep -q TW-PROG-LOADED &&
   echo "$AUDIT" | grep -q "allow bpf_token_create .*profile=bpftool .*comm=bpftool" &&
   echo "$AUDIT" | grep -q "allow bpf_map_create .*map array .*profile=bpftool" &&
   echo "$AUDIT" | grep -q "allow bpf_prog_load .*prog socket_filter .*profile=bpftool"; then
  result libbpf_client PASS "bpftool loaded its object through the token: $(echo "$AUDIT" | grep -c ' allow ') allowed decisions"
else
  result libbpf_client FAIL "$(fail_detail "bpftool did not load under profile bpftool")"
fi
if echo "$AUDIT" | grep -q "deny  bpf_token_capable CAP_PERFMON .*profile=bpftool"; then
  result capability_refused PASS "$(echo "$AUDIT" | grep -c 'deny  bpf_token_capable CAP_PERFMON') CAP_PERFMON checks refused, the load went on"
else
  result capability_refused FAIL "$(fail_detail "no refused CAP_PERFMON")"
fi

# 3b. Our own libbpf skeleton application, which has no token code: libbpf finds the token.
run_unit tw-skeleton.service
if echo "$LOG" | grep -q TW-SKELETON-LOADED &&
   echo "$AUDIT" | grep -q "allow bpf_prog_load .*prog socket_filter .*profile=skeleton-app"; then
  result libbpf_skeleton_app PASS "$(echo "$LOG" | grep TW-SKELETON-LOADED) under profile skeleton-app"
else
  result libbpf_skeleton_app FAIL "$(fail_detail "the skeleton application did not load under its profile")"
fi

# 3c. An XDP-only profile: libbpf's probes (a socket filter first) pass under `allow probes`,
# and without it libbpf gives up before it loads anything.
run_unit tw-xdp.service
if echo "$LOG" | grep -q TW-PROG-LOADED &&
   echo "$AUDIT" | grep -q "allow bpf_prog_load .*prog socket_filter .*profile=xdp-only" &&
   echo "$AUDIT" | grep -q "allow bpf_prog_load .*prog xdp attach .*profile=xdp-only"; then
  result libbpf_probes_allowed PASS "bpftool loaded an XDP object ($(echo "$AUDIT" | grep -m1 "allow bpf_prog_load .*prog xdp" | sed 's/.*prog xdp/prog xdp/; s/ profile.*//')); its probes passed as probes"
else
  result libbpf_probes_allowed FAIL "$(fail_detail "the XDP object did not load under xdp-only")"
fi
run_unit tw-xdp-noprobes.service
if ! echo "$LOG" | grep -q TW-PROG-LOADED &&
   echo "$AUDIT" | grep -q "deny  bpf_prog_load .*prog socket_filter .*profile=xdp-no-probes"; then
  result libbpf_without_probes PASS "refused at libbpf's first probe: $(echo "$LOG" | grep -m1 -i 'error\|couldn' | cut -c1-120)"
else
  result libbpf_without_probes FAIL "$(fail_detail "without allow probes, libbpf still loaded")"
fi

# A unit that must get nothing: its load fails and the audit shows the refusal.
#   refused_case CASE UNIT AUDIT-REGEX DETAIL
refused_case() {
  run_unit "$2"
  if ! echo "$LOG" | grep -q TW-PROG-LOADED && echo "$AUDIT" | grep -q "$3"; then
    result "$1" PASS "$4"
  else
    result "$1" FAIL "$(fail_detail "$2 was not refused")"
  fi
}
# A unit that loads its program under its profile.
#   loaded_case CASE UNIT PROFILE PROGTYPE WHERE
loaded_case() {
  run_unit "$2"
  if echo "$LOG" | grep -q TW-PROG-LOADED &&
     echo "$AUDIT" | grep -q "allow bpf_token_create .*profile=$3" &&
     echo "$AUDIT" | grep -q "allow bpf_prog_load .*prog $4 .*profile=$3"; then
    result "$1" PASS "$2 loaded $4 through libbpf (probes included) under profile $3 of $5"
  else
    result "$1" FAIL "$(fail_detail "$2 did not load under $3")"
  fi
}
# 3d. Example policies as shipped, each with a real libbpf client in a unit, loaded with
# `replace` (and the test's policy put back after). The units' cgroups do not exist when the
# policy is loaded; systemd makes them when the units start.
#   under_example CASE POLICY CHECK ARGS...: runs CHECK ARGS... under examples/POLICY
under_example() {
  ex_case=$1 ex_policy=/usr/local/share/tokenwarden/examples/$2
  shift 2
  if $tw replace --log-allowed "$ex_policy" >/dev/null 2>&1; then
    "$@"
  else
    result "$ex_case" FAIL "replace with $ex_policy: $($tw replace "$ex_policy" 2>&1 | tail -n3)"
  fi
  $tw replace --log-allowed /etc/tokenwarden/policy.tw >/dev/null 2>&1
  $tw audit >/dev/null 2>&1
}
#   example_case CASE POLICY UNIT PROFILE PROGTYPE
example_case() { under_example "$1" "$2" loaded_case "$1" "$3" "$4" "$5" "examples/$2"; }
#   example_refused CASE POLICY UNIT AUDIT-REGEX DETAIL
example_refused() { under_example "$1" "$2" refused_case "$1" "$3" "$4" "$5 (examples/$2)"; }
# The agent's executable, in a unit under kubepods.slice whose bpffs delegates XDP and sched_cls.
example_case example_networking_agent networking-agent.tw tw-netagent.service netagent xdp
# The CI runner's job: an unprivileged uid (100042, CAP_BPF only in the unit's user namespace) in
# gitlab-runner.service, our skeleton client.
example_case example_ci_runner ci-runner.tw gitlab-runner.service ci-job socket_filter
# A tracing-free host: a bpffs that delegates kprobe gets no token; any other delegated unit loads
# its socket filter without CAP_PERFMON.
example_refused example_tracing_refused tracing-agent.tw tw-kprobe.service \
  "deny  bpf_token_create .*profile=tracing-refused" "a unit whose bpffs delegates kprobe gets no token (EACCES)"
example_case example_tracing_others tracing-agent.tw tw-libbpf.service no-perfmon socket_filter
# Containers of an engine, told by machine.slice (the SELinux half of this example is proven in
# the busybox VM): a network container loads XDP; a plain one gets its map and not its program.
example_case example_container_net container-engine.tw tw-container-net.service container-net xdp
example_refused example_container_plain container-engine.tw tw-container.service \
  "deny  bpf_prog_load .*prog socket_filter .*profile=container" "a plain container's own program is refused (its map and libbpf's probes pass)"
# The demo's policy told by a unit: flowlogd.service, strict, delegated its grants plus what
# libbpf's probes need.
example_case example_systemd_service systemd-service.tw flowlogd.service flowlogd cgroup_skb

# 4. A unit the policy does not know (another executable: a copy of bpftool) gets no token.
refused_case unknown_unit_refused tw-stranger.service \
  "deny  bpf_token_create .*comm=bpftool-copy.*no profile matches; default deny" \
  "token refused at creation (default deny); the load failed"
# 5. A unit whose BPFDelegateMaps= grants more than its strict profile: no token.
refused_case widened_delegation_strict tw-widened.service \
  "deny  bpf_token_create .*profile=strict-client.*strict profile" \
  "token refused: the bpffs delegates hash maps too"

# 5b. Under a matching profile, one refusal each: a map type, a program type, a quota.
refused_case refused_map_type tw-maptype.service "deny  bpf_map_create .*map array .*profile=refuse-maptype" \
  "array maps refused by a profile that allows hash maps; the load failed"
refused_case refused_prog_type tw-progtype.service "deny  bpf_prog_load .*prog socket_filter .*profile=refuse-progtype" \
  "the object's socket filter refused by a cgroup_skb profile (libbpf's probes passed as probes); the load failed"
refused_case refused_quota tw-quota.service "deny  bpf_prog_load .*profile=refuse-quota.*programs per token over the limit" \
  "the object's program is over \`limit progs 0\`; the load failed"

# 6. A unit named by its cgroup keeps its profile across 20 restarts: systemd removes the cgroup
# and makes a new one (a new id) at every start, and mounts a fresh bpffs; the unit runs a fresh
# copy of bpftool (a new inode) each time, so only the cgroup path names it.
run_unit tw-by-cgroup.service
ids=/system.slice/tw-by-cgroup.service
for i in $(seq 20); do systemctl restart tw-by-cgroup.service >/dev/null 2>&1; done
LOG=$(unit_log tw-by-cgroup.service); AUDIT=$AUDIT$($tw audit 2>&1)
starts=$(echo "$LOG" | grep -c TW-PROG-LOADED)
labelled=$(echo "$AUDIT" | grep -c "allow bpf_token_create .*profile=by-cgroup")
refused=$(echo "$AUDIT" | grep "profile=by-cgroup" | grep -v CAP_PERFMON | grep -c "deny ")
cgroups=$(echo "$AUDIT" | grep "allow bpf_token_create .*profile=by-cgroup" | sed 's/.*cgroup=\([0-9]*\).*/\1/' | sort -u | wc -l)
if [ "$starts" -eq 21 ] && [ "$labelled" -ge 21 ] && [ "$refused" -eq 0 ] && [ "$cgroups" -ge 21 ]; then
  result cgroup_profile_across_restarts PASS "21 starts of $ids, 21 loads, $labelled tokens labelled by-cgroup in $cgroups different cgroup ids, none refused"
else
  result cgroup_profile_across_restarts FAIL "$(fail_detail "starts=$starts labelled=$labelled refused=$refused cgroup ids=$cgroups")"
fi

# 7. A unit named by its executable: the binary is upgraded the way dpkg does it (a newer build
# written beside it and renamed over it: a new inode) and the unit restarted; then a different
# binary started in the same unit gets nothing.
bin=/usr/local/sbin/tw-upgraded
run_unit tw-upgrade.service
before=$(stat -c %i $bin)
cp /usr/sbin/bpftool $bin.dpkg-new && printf 'newer build\n' >> $bin.dpkg-new && chmod 755 $bin.dpkg-new && mv $bin.dpkg-new $bin
after=$(stat -c %i $bin)
systemctl restart tw-upgrade.service >/dev/null 2>&1
LOG=$(unit_log tw-upgrade.service); AUDIT=$($tw audit 2>&1)
upgraded_loads=$(echo "$LOG" | grep -c TW-PROG-LOADED)
echo TW_BIN=/usr/local/sbin/bpftool-copy > /run/tw-upgrade.env
systemctl restart tw-upgrade.service >/dev/null 2>&1
rm -f /run/tw-upgrade.env
LOG2=$(unit_log tw-upgrade.service); AUDIT2=$($tw audit 2>&1)
if [ "$before" != "$after" ] && [ "$upgraded_loads" -eq 2 ] &&
   [ "$(echo "$AUDIT" | grep -c "allow bpf_token_create .*profile=upgraded")" -ge 1 ] &&
   [ "$(echo "$LOG2" | grep -c TW-PROG-LOADED)" -eq 2 ] &&
   echo "$AUDIT2" | grep -q "deny  bpf_token_create .*comm=bpftool-copy.*no profile matches"; then
  result exe_profile_across_upgrade PASS "inode $before -> $after: the upgraded binary loads under upgraded; bpftool-copy in the same unit is refused (no profile matches)"
else
  result exe_profile_across_upgrade FAIL "$(AUDIT="$AUDIT$AUDIT2"; fail_detail "inode $before -> $after, loads after upgrade: $upgraded_loads")"
fi

# 8. `systemctl reload tokenwarden` with a broken policy fails, says why in the journal, and the
# running policy stays in force; a good policy then reloads.
policy=/etc/tokenwarden/policy.tw
gen_before=$($tw status | head -n1 | sed 's/.*generation \([0-9]*\).*/\1/')
cp $policy /run/policy.good
printf 'profile broken {\n  allow map no_such_map;\n' >> $policy
systemctl reload tokenwarden.service >/dev/null 2>&1; reload_rc=$?
gen_after=$($tw status | head -n1 | sed 's/.*generation \([0-9]*\).*/\1/')
attempt=$($tw status | grep "last attempt: replace /etc/tokenwarden/policy.tw .*failed: the policy was refused")
why=$(journalctl -u tokenwarden.service -o cat --no-pager | grep -m1 "error")
cp /run/policy.good $policy
systemctl reload tokenwarden.service >/dev/null 2>&1; good_rc=$?
gen_good=$($tw status | head -n1 | sed 's/.*generation \([0-9]*\).*/\1/')
if [ "$reload_rc" -ne 0 ] && [ "$gen_before" = "$gen_after" ] && [ -n "$why" ] && [ -n "$attempt" ] &&
   [ "$good_rc" -eq 0 ] && [ "$gen_good" -gt "$gen_before" ] && systemctl is-active --quiet tokenwarden.service &&
   ! $tw status | grep -q "last attempt"; then
  result reload_broken_policy PASS "reload exit $reload_rc, generation $gen_before kept; journal: $(echo "$why" | cut -c1-100); status:$(echo "$attempt" | cut -c1-160); the fixed policy reloads as generation $gen_good"
else
  result reload_broken_policy FAIL "reload exit $reload_rc, generation $gen_before -> $gen_after -> $gen_good (good reload exit $good_rc); journal: $why; status: ${attempt:-no failed attempt shown}"
fi
# 8b. `tokenwarden import systemd` on the units' own files (as systemd found them): the imported
# strict profiles alone, every unit loads its object with no refusal but the verifier's CAP_PERFMON
# questions; a drop-in that widens one unit's delegation gets no token.
imported_units="tw-skeleton.service flowlogd.service tw-libbpf.service"
files=$(for u in $imported_units; do systemctl show -P FragmentPath "$u"; done)
import_out=$($tw import systemd $files -o /run/imported.tw 2>&1); import_rc=$?
check_out=$($tw check /run/imported.tw 2>&1)
if [ "$import_rc" -eq 0 ] && [ "$check_out" = "/run/imported.tw: ok (3 profiles)" ] &&
   $tw replace --log-allowed /run/imported.tw >/dev/null 2>&1; then
  $tw audit >/dev/null 2>&1
  import_ok=yes import_detail=""
  # loads in a unit's journal (these units ran before, under other policies: a start loads
  # when their count grows)
  loads() { unit_log "$1" | grep -c "TW-PROG-LOADED\|TW-SKELETON-LOADED"; }
  for u in $imported_units; do
    before=$(loads "$u")
    run_unit "$u"
    profile=${u%.service}
    denied=$(echo "$AUDIT" | grep "deny " | grep -v CAP_PERFMON | wc -l)
    if [ "$(loads "$u")" -gt "$before" ] && [ "$denied" -eq 0 ] &&
       echo "$AUDIT" | grep -q "allow bpf_token_create .*profile=$profile"; then
      import_detail="$import_detail $profile loaded;"
    else
      import_ok=no import_detail="$import_detail $(fail_detail "$u under its imported profile ($denied refusals)");"
    fi
  done
  mkdir -p /run/systemd/system/tw-skeleton.service.d
  printf '[Service]\nBPFDelegateMaps=BPFMapTypeHash\n' > /run/systemd/system/tw-skeleton.service.d/widen.conf
  systemctl daemon-reload
  before=$(loads tw-skeleton.service)
  run_unit tw-skeleton.service
  if [ "$(loads tw-skeleton.service)" -eq "$before" ] &&
     echo "$AUDIT" | grep -q "deny  bpf_token_create .*profile=tw-skeleton.*strict profile"; then
    import_detail="$import_detail widened by a drop-in (hash maps too): token refused, strict"
  else
    import_ok=no import_detail="$import_detail $(fail_detail "the widened tw-skeleton was not refused")"
  fi
  rm -rf /run/systemd/system/tw-skeleton.service.d
  systemctl daemon-reload
  [ "$import_ok" = yes ] && result import_systemd PASS "3 units imported, check clean;$import_detail" ||
    result import_systemd FAIL "$import_detail"
else
  result import_systemd FAIL "import exit $import_rc: $(echo "$import_out" | tail -n4) | check: $check_out"
fi
$tw replace --log-allowed /etc/tokenwarden/policy.tw >/dev/null 2>&1
$tw audit >/dev/null 2>&1

# 8c. Policies from observation (#17): tw-skeleton.service (our libbpf skeleton client) observed
# under a learning profile in audit mode; `generate` writes its policy and cases, which check
# clean; enforced, the unit loads with no refusal but the verifier's CAP_PERFMON questions; the
# client doing one thing more (a larger map through a token of its own) is refused by the
# generated profile's limit, and `why` names tokenwarden and the rule; `replay` of each recording
# under the generated policy gives the kernel's verdicts, and under the learning policy it does
# not. Events are read while they happen (`audit --follow`); the unit lingers a second after its
# client, so that its cgroup is still there when its token's creation is read.
record() {  # record FILE UNIT: the unit's events, as `audit --follow --json` prints them
  $tw audit --follow --json > "$1" 2>/dev/null & rec=$!
  sleep 1
  systemctl start "$2" >/dev/null 2>&1
  sleep 1
  kill -INT $rec; wait $rec 2>/dev/null
  LOG=$(unit_log "$2")
}
mkdir -p /run/systemd/system/tw-skeleton.service.d
printf '[Service]\nExecStartPost=/bin/sleep 1\n' > /run/systemd/system/tw-skeleton.service.d/linger.conf
systemctl daemon-reload
printf '%s\n' 'policy learn;' 'default allow;' 'profile skeleton {' \
  '  match creator.cgroup == "/system.slice/tw-skeleton.service";' '  mode audit;' '}' > /run/learn.tw
learn_ok=yes learn_detail=""
lfail() { learn_ok=no learn_detail="$learn_detail $1;"; }
if $tw replace --log-allowed /run/learn.tw >/dev/null 2>&1; then
  $tw audit >/dev/null 2>&1
  record /run/learn.jsonl tw-skeleton.service
  learned=$(grep -c '"verdict":"audit"' /run/learn.jsonl)
  gen_out=$($tw generate /run/learn.jsonl --policy /run/learn.tw -o /run/skeleton.tw 2>&1) || lfail "generate: $gen_out"
  check_out=$($tw check /run/skeleton.tw 2>&1)
  [ "$check_out" = "/run/skeleton.tw: ok (1 profile)" ] || lfail "check: $check_out"
  test_out=$($tw test /run/skeleton.tw 2>&1) || lfail "test: $(echo "$test_out" | tail -n3)"
  echo "TWSYS-LEARNED $(grep -v '^ *#' /run/skeleton.tw | tr -s ' \n' ' ')"
  if $tw replace --log-allowed /run/skeleton.tw >/dev/null 2>&1; then
    before=$(unit_log tw-skeleton.service | grep -c TW-SKELETON-LOADED)
    record /run/enforce.jsonl tw-skeleton.service
    denied=$(grep '"verdict":"deny"' /run/enforce.jsonl | grep -vc CAP_PERFMON)
    [ "$(echo "$LOG" | grep -c TW-SKELETON-LOADED)" -gt "$before" ] && [ "$denied" -eq 0 ] ||
      lfail "$(fail_detail "enforced: $denied refusals") $(grep '"verdict":"deny"' /run/enforce.jsonl | grep -v CAP_PERFMON | head -n2)"
    same=$($tw replay /run/enforce.jsonl --policy /run/skeleton.tw --fail-on-change 2>&1) ||
      lfail "replay under the generated policy: $same"
    other=$($tw replay /run/enforce.jsonl --policy /run/learn.tw 2>&1)
    echo "$other" | grep -q " [1-9][0-9]* newly refused" || lfail "replay under the learning policy changed nothing: $other"
    printf '[Service]\nExecStart=\nExecStart=/usr/local/bin/tw-libbpf-client --one-more\n' \
      > /run/systemd/system/tw-skeleton.service.d/more.conf
    systemctl daemon-reload
    record /run/variant.jsonl tw-skeleton.service
    refusal=$(grep '"verdict":"deny"' /run/variant.jsonl | grep -v CAP_PERFMON)
    echo "$LOG" | grep -q "TW-EXTRA-MAP refused" && echo "$refusal" | grep -q '"hook":"bpf_map_create".*"profile":"skeleton"' ||
      lfail "$(fail_detail "the variant's larger map was not refused by the profile") $refusal"
    variant=$($tw replay /run/variant.jsonl --policy /run/skeleton.tw --fail-on-change 2>&1) ||
      lfail "replay of the variant: $variant"
    why=$($tw why /run/variant.jsonl --policy /run/skeleton.tw --unit tw-skeleton.service 2>&1)
    echo "$why" | grep -q "bpf_map_create map array: refused by tokenwarden, profile \`skeleton\`, rule /run/skeleton.tw:" ||
      lfail "why does not name tokenwarden and the rule: $why"
    rm -f /run/systemd/system/tw-skeleton.service.d/more.conf
  else
    lfail "the generated policy did not load"
  fi
else
  lfail "the learning policy did not load"
fi
rm -rf /run/systemd/system/tw-skeleton.service.d
systemctl daemon-reload
if [ "$learn_ok" = yes ]; then
  result learn_generate PASS "$learned audited decisions learned; $(echo "$gen_out" | head -n1); check clean, cases pass; enforced: loaded, 0 refusals; replay: $(echo "$same" | head -n1); under learn.tw: $(echo "$other" | head -n1 | sed 's/.*: //'); variant: $(echo "$LOG" | grep TW-EXTRA-MAP); why: $(echo "$why" | grep -m1 'bpf_map_create' | sed 's/.*: bpf_map_create/bpf_map_create/')"
else
  result learn_generate FAIL "$learn_detail"
fi
for f in learn enforce variant; do sed "s/^/TWSYS-EVENTS-$f /" /run/$f.jsonl 2>/dev/null; done
$tw replace --log-allowed /etc/tokenwarden/policy.tw >/dev/null 2>&1
$tw audit >/dev/null 2>&1

# 9. The agent: refusals in the journal with their fields, repeats folded into one entry with a
# count; the metrics file; events made while it is stopped are read when it starts again, and
# the policy stays in force whether it runs or not. (From here on only the agent reads the ring.)
agent_json() { journalctl -u tokenwarden-agent.service -o json --no-pager 2>/dev/null; }
systemctl start tokenwarden-agent.service
sleep 1
systemctl start tw-libbpf.service >/dev/null 2>&1
systemctl start tw-stranger.service >/dev/null 2>&1
sleep 7  # the 5 s window closes, the summaries go out, the metrics are written
J=$(agent_json)
perfmon=$(echo "$J" | grep '"TW_HOOK":"bpf_token_capable"' | grep '"TW_WHAT":"CAP_PERFMON"' | grep '"TW_PROFILE":"bpftool"')
first_count=$(echo "$perfmon" | grep -c '"TW_COUNT":"1"')
summary=$(echo "$perfmon" | grep 'repeated' | head -n1)
repeats=$(echo "$summary" | sed 's/.*"TW_COUNT":"\([0-9]*\)".*/\1/')
stranger=$(echo "$J" | grep '"TW_VERDICT":"deny"' | grep '"TW_HOOK":"bpf_token_create"' | grep '"TW_COMM":"bpftool-copy"' | grep '"TW_ERRNO":"EPERM"' | grep -c '"TW_REASON":"no profile matches; default deny"')
metric=$(grep 'tokenwarden_decisions_total{profile="bpftool",hook="bpf_token_capable",verdict="deny"}' /run/tokenwarden/metrics.prom 2>/dev/null)
if [ "$first_count" -ge 1 ] && [ -n "$summary" ] && [ "${repeats:-0}" -ge 2 ] && [ "$stranger" -ge 1 ] &&
   [ -n "$metric" ] && [ "${metric##* }" -gt 0 ]; then
  result agent_journal PASS "CAP_PERFMON refusals: 1 entry, then 1 summary with TW_COUNT=$repeats ($(echo "$summary" | sed 's/.*(repeated/(repeated/; s/)".*/)/')); the stranger's refusal with TW_REASON and TW_ERRNO; metrics: $metric"
else
  result agent_journal FAIL "first=$first_count repeats=${repeats:-none} stranger=$stranger metric=${metric:-none} | $(echo "$J" | tail -n3 | cut -c1-300)"
fi

systemctl stop tokenwarden-agent.service
systemctl start tw-stranger.service >/dev/null 2>&1  # refused while no agent runs: enforcement does not need it
while_stopped=$(unit_log tw-stranger.service | grep -c TW-PROG-LOADED)
systemctl start tokenwarden-agent.service
sleep 2
late=$(agent_json | grep '"TW_COMM":"bpftool-copy"' | grep '"TW_HOOK":"bpf_token_create"' | grep '"TW_VERDICT":"deny"' | wc -l)
systemctl kill -s KILL tokenwarden-agent.service
sleep 3  # Restart=always brings it back after RestartSec=1
restarts=$(systemctl show -p NRestarts --value tokenwarden-agent.service)
if [ "$while_stopped" -eq 0 ] && [ "$late" -ge 2 ] && [ "${restarts:-0}" -ge 1 ] &&
   systemctl is-active --quiet tokenwarden-agent.service && $tw status >/dev/null 2>&1; then
  result agent_restart PASS "stranger refused while the agent was stopped, its refusal read by the next agent; after SIGKILL systemd restarted it ($restarts) and the policy stayed loaded"
else
  result agent_restart FAIL "loads while stopped=$while_stopped, stranger refusals in the journal=$late, restarts=$restarts, agent $(systemctl is-active tokenwarden-agent.service)"
fi
echo "TWSYS-DONE"
