#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The main job: build, ask `tokenwarden doctor` what this kernel can do, compile an example policy
# and show its decisions (explain, simulate, its decision cases), and run a workload in a delegated
# user namespace to show which token operations the kernel's delegation allows and refuses.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh >/dev/null
build=${TW_BUILD_DIR:-build}
tw=$build/tools/tokenwarden
demo=$build/tests/tw-token-demo

echo "== tokenwarden doctor"
set +e
"$tw" doctor
doctor_rc=$?
set -e

echo
echo "== tokenwarden check + compile examples/ci-runner.tw"
"$tw" check examples/ci-runner.tw
artifact=$(mktemp --suffix=.twp)
trap 'rm -f "$artifact"' EXIT
"$tw" compile examples/ci-runner.tw -o "$artifact"

echo
echo "== tokenwarden explain (the compiled artifact)"
"$tw" explain "$artifact"

echo
echo "== tokenwarden simulate: a CI job asks for a 70000-entry hash map, then for CAP_PERFMON"
"$tw" simulate "$artifact" -e hook=map_create \
  -e 'creator=uid=100001 cgroup=/system.slice/gitlab-runner.service/job-7' \
  -e 'token=cmds=map_create maps=hash' -e 'map=type=hash max_entries=70000 key_size=8 value_size=8'
"$tw" simulate "$artifact" -e hook=token_capable -e cap=CAP_PERFMON \
  -e 'creator=uid=100001 cgroup=/system.slice/gitlab-runner.service/job-7' -e 'token=cmds=map_create'

echo
echo "== tokenwarden test: the policy's decision cases on the reference evaluator"
"$tw" test -v examples/ci-runner.tw

echo
echo "== tokenwarden delegate: map_create/prog_load/btf_load, array maps, socket filters"
set +e
"$tw" delegate --cmds map_create,prog_load,btf_load --maps array --progs socket_filter \
  --attachs cgroup_inet_ingress -- \
  "$demo" map:array map:hash prog:socket_filter prog:kprobe btf --libbpf
set -e
echo "(map hash and prog kprobe are refused: the bpffs does not delegate them)"

echo
echo "== the same workload with systemd's spellings and nothing but maps delegated"
set +e
"$tw" delegate --cmds BPFMapCreate --maps BPFMapTypeArray,BPFMapTypeHash -- "$demo" map:array map:hash prog:socket_filter
set -e

echo
if [[ $doctor_rc -eq 0 ]]; then
  echo "== enforcing examples/systemd-service.tw on this kernel"
  TW_DEMO_TOKENWARDEN="$PWD/$tw" TW_DEMO_EXAMPLES="$PWD/examples" "$build/tests/vm/tw-vmtest" demo |
    sed -n 's/^TWVM-DEMO //p'
  exit "${PIPESTATUS[0]}"
fi
echo "== enforcing examples/systemd-service.tw on a stock Debian 7.x kernel in the test VM"
echo "(doctor says this kernel refuses BPF LSM programs, so enforcement runs in qemu)"
out=$(mktemp -d)
trap 'rm -f "$artifact"; rm -rf "$out"' EXIT
if python3 tests/vm/vmrun.py boot --kernel 7.x --out "$out" --cases demo \
    --guest "$build/tests/vm/tw-vmtest" --tokenwarden "$build/tools/tokenwarden-static" >/dev/null; then
  tr -d '\000' <"$out/7.x/console.log" | sed -n 's/^TWVM-DEMO //p'
else
  echo "demo: the VM did not run; its console:" >&2
  tr -d '\000' <"$out/7.x/console.log" 2>/dev/null | tail -n 40 >&2
  exit 1
fi
