#!/bin/sh
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

# 1. The policy was enforcing before any delegating unit ran.
if systemctl is-active --quiet tokenwarden-load.service && $tw status | grep -q "policy \`system-vm\`"; then
  result policy_at_boot PASS "tokenwarden-load.service active; $($tw status | head -n1)"
else
  result policy_at_boot FAIL "$(systemctl status tokenwarden-load.service 2>&1 | tail -n5)"
fi
$tw audit >/dev/null 2>&1

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

# 3d. Example policies as shipped, each with a real libbpf client in a unit, loaded with
# `replace` (and the test's policy put back after). The unit's cgroup must exist when the policy
# is loaded (cgroup paths resolve at load), so it is made first; systemd reuses it.
#   example_case CASE POLICY UNIT CGROUP PROFILE PROGTYPE
example_case() {
  mkdir -p "/sys/fs/cgroup$4"
  if $tw replace --log-allowed "/usr/local/share/tokenwarden/examples/$2" >/dev/null 2>&1; then
    run_unit "$3"
    if echo "$LOG" | grep -q TW-PROG-LOADED &&
       echo "$AUDIT" | grep -q "allow bpf_token_create .*profile=$5" &&
       echo "$AUDIT" | grep -q "allow bpf_prog_load .*prog $6 .*profile=$5"; then
      result "$1" PASS "$3 loaded $6 through libbpf (probes included) under profile $5 of examples/$2"
    else
      result "$1" FAIL "$(fail_detail "$3 did not load under $5")"
    fi
  else
    result "$1" FAIL "replace with examples/$2: $($tw replace "/usr/local/share/tokenwarden/examples/$2" 2>&1 | tail -n3)"
  fi
  $tw replace --log-allowed /etc/tokenwarden/policy.tw >/dev/null 2>&1
  $tw audit >/dev/null 2>&1
}
# The agent's executable, in a unit under kubepods.slice whose bpffs delegates XDP and sched_cls.
example_case example_networking_agent networking-agent.tw tw-netagent.service /kubepods.slice netagent xdp
# The demo's policy told by a unit: flowlogd.service, strict, delegated its grants plus what
# libbpf's probes need.
example_case example_systemd_service systemd-service.tw flowlogd.service /system.slice/flowlogd.service flowlogd cgroup_skb

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
# 4. A unit the policy does not know (another executable: a copy of bpftool) gets no token.
refused_case unknown_unit_refused tw-stranger.service \
  "deny  bpf_token_create .*comm=bpftool-copy.*no profile matches; default deny" \
  "token refused at creation (default deny); the load failed"
# 5. A unit whose BPFDelegateMaps= grants more than its strict profile: no token.
refused_case widened_delegation_strict tw-widened.service \
  "deny  bpf_token_create .*profile=strict-client.*strict profile" \
  "token refused: the bpffs delegates hash maps too"

# 6. A unit named by its cgroup: systemd creates the cgroup at start, after `load` resolved it.
run_unit tw-by-cgroup.service
first=$(echo "$LOG" | grep -q TW-PROG-LOADED && echo loaded || echo refused)
systemctl restart tw-by-cgroup.service >/dev/null 2>&1
LOG=$(unit_log tw-by-cgroup.service); AUDIT=$($tw audit 2>&1)
second=$(echo "$LOG" | grep -c TW-PROG-LOADED)
load_warning=$(journalctl -u tokenwarden-load.service -o cat --no-pager | grep -c "tw-by-cgroup.service\" does not exist")
if [ "$first" = refused ]; then
  result cgroup_profile_across_restart KNOWN "first start $first, after restart $second loads; load warned $load_warning time(s) that the cgroup did not exist: cgroup paths are resolved to ids once, at load (identities that survive restarts are still to come)"
else
  result cgroup_profile_across_restart FAIL "the cgroup profile matched ($first): update this expectation"
fi
echo "TWSYS-DONE"
