#!/usr/bin/env bash
# The main job: build, ask `tokenwarden doctor` what this kernel can do, and run a workload in a
# delegated user namespace to show which token operations are allowed and which are refused.
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

if [[ $doctor_rc -eq 3 ]]; then
  echo
  echo "doctor: this kernel cannot load BPF LSM programs, so policies are enforced in the test VM"
  echo "(bash scripts/test.sh runs the VM suite)."
fi
