#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# The package flavour's driver (tests/vm/system/run.py --packages), run by tw-system-test.service
# once the system is up. tokenwarden and tokenwarden-selinux were installed into this image with
# `apt-get install ./...deb` before it booted; /etc/tokenwarden/policy.tw was there (config
# management) and /etc/default/tokenwarden was changed after (--log-allowed, for the test's audit
# reads). Each case prints `TWSYS-RESULT <case> PASS|FAIL <detail>`.
tw=/usr/bin/tokenwarden
echo "TWSYS-BOOTED"
echo "TWSYS-VERSIONS kernel=$(uname -r) $(systemctl --version | head -n1 | cut -d' ' -f1-2 | tr ' ' '=')" \
     "tokenwarden=$(dpkg-query -W -f='${Version}' tokenwarden 2>/dev/null)"
result() { echo "TWSYS-RESULT $1 $2 $3" | tr '\n' ' '; echo; }
unit_log() { journalctl -u "$1" -o cat --no-pager 2>/dev/null; }
# Starts a test unit to completion; prints `loaded` or `refused`. A test unit's ExecStart is
# `bpftool prog load ... && echo TW-PROG-LOADED`, so the unit succeeds exactly when the load did:
# its result, not the journal (a busy boot rotates the volatile journal and loses lines).
outcome() {
  systemctl reset-failed "$1" >/dev/null 2>&1
  if systemctl start "$1" >/dev/null 2>&1; then echo loaded; else echo refused; fi
}
generation() { $tw status 2>/dev/null | sed -n 's/^policy .* generation \([0-9]*\), loaded.*/\1/p' | head -n1; }
# What of tokenwarden is on the system: packages, files, units, pins, programs.
leftovers() {
  dpkg-query -W -f='${Package} ${Status}\n' 'tokenwarden*' 2>/dev/null | grep -v "not-installed" | sed 's/^/package: /'
  # Not ours: the test's own files, /usr/local (the test's examples), and man-db's cache of the
  # pages the test read (man formats them there; man-db's daily job expires them).
  find / -xdev \( -path /proc -o -path /sys -o -path /var/cache/tw-debs -o -path /var/log/tw-apt-install.log \
       -o -path /usr/local -o -path /var/cache/man -o -path /etc/tokenwarden \) -prune -o -name '*tokenwarden*' -print \
       2>/dev/null | sed 's/^/file: /'
  # /etc/tokenwarden holds the administrator's policy and nothing else.
  [ "$(ls -A /etc/tokenwarden 2>/dev/null)" = policy.tw ] || echo "file: /etc/tokenwarden has $(ls -A /etc/tokenwarden 2>/dev/null | tr '\n' ' ')"
  [ -e /run/tokenwarden ] && echo "file: /run/tokenwarden"
  [ -e /sys/fs/bpf/tokenwarden ] && echo "pins: /sys/fs/bpf/tokenwarden"
  # tokenwarden's programs are named tw_* (systemd has LSM programs of its own).
  bpftool prog show 2>/dev/null | grep -E ' name tw_' | sed 's/^/program: /'
  systemctl list-unit-files 'tokenwarden*' --no-legend 2>/dev/null | sed 's/^/unit: /'
}

# 1. Installed by apt before the first boot: the package's units were enabled by its postinst
# (deb-systemd-helper), so the policy was enforcing from boot: a unit the policy does not name is
# refused, one it names loads.
stranger=$(outcome tw-stranger.service)
client=$(outcome tw-libbpf.service)
if systemctl is-enabled --quiet tokenwarden.service && systemctl is-active --quiet tokenwarden.service &&
   systemctl is-active --quiet tokenwarden-agent.service && $tw status | grep -q "policy \`system-vm\`" &&
   [ "$stranger" = refused ] && [ "$client" = loaded ]; then
  result package_enforcing_at_boot PASS "$(dpkg-query -W -f='${Package} ${Version}' tokenwarden) from apt; enabled by its postinst; $($tw status | head -n1); stranger $stranger, bpftool $client"
else
  result package_enforcing_at_boot FAIL "enabled=$(systemctl is-enabled tokenwarden.service) active=$(systemctl is-active tokenwarden.service) agent=$(systemctl is-active tokenwarden-agent.service) stranger=$stranger client=$client | client: $(unit_log tw-libbpf.service | tail -n3) | $(systemctl status tokenwarden.service 2>&1 | tail -n4)"
fi

# 2. man and completion, as a user gets them.
page=$(MANPAGER=cat MANWIDTH=100 man tokenwarden-load 2>/dev/null | grep -c -- '--or-replace')
lang=$(MANPAGER=cat man 5 tokenwarden.tw 2>/dev/null | grep -c 'MATCH EXPRESSIONS')
completed=$(bash -c '. /usr/share/bash-completion/bash_completion; _comp_load tokenwarden 2>/dev/null || _completion_loader tokenwarden;
  COMP_WORDS=(tokenwarden delegate --maps array,ha); COMP_CWORD=3; _tokenwarden; echo "${COMPREPLY[*]}"' 2>/dev/null)
if [ "$page" -ge 1 ] && [ "$lang" -ge 1 ] && [ "$completed" = "array,hash array,hash_of_maps" ]; then
  result package_man_completion PASS "man tokenwarden-load, man 5 tokenwarden.tw; bash-completion loads the package's script: 'delegate --maps array,ha' -> $completed"
else
  result package_man_completion FAIL "man lines: $page $lang; completion: '$completed'; $(ls /usr/share/man/man8 | grep -c tokenwarden) pages"
fi

# 3. SELinux: this system has no policy store, so the module package's postinst said so and
# changed nothing (the store case runs in the package tests, in a chroot with Debian's policy).
if grep -q "tokenwarden-selinux: no SELinux policy store" /var/log/tw-apt-install.log &&
   [ "$(tokenwarden-selinux variant)" = "none (no SELinux policy store)" ]; then
  result package_selinux_no_store PASS "$(grep 'tokenwarden-selinux:' /var/log/tw-apt-install.log | head -n1 | cut -c1-90)"
else
  result package_selinux_no_store FAIL "$(grep -i selinux /var/log/tw-apt-install.log | tail -n3)"
fi

# 4. Upgrade to the next build with the policy loaded: the postinst restarts tokenwarden.service
# (load --or-replace), which replaces the policy with the new build's programs; a stranger started
# over and over meanwhile is refused every time.
before=$(generation)
( i=0; while [ ! -e /run/tw-upgrade-done ]; do
    i=$((i + 1)); echo "$(outcome tw-stranger.service)" >>/run/tw-upgrade-outcomes
  done ) &
loop=$!
sleep 1
(cd /var/cache/tw-debs/next && apt-get install -y ./*.deb) >/run/tw-upgrade.log 2>&1
rc=$?
touch /run/tw-upgrade-done
wait $loop
after=$(generation)
tries=$(grep -c . /run/tw-upgrade-outcomes)
loaded=$(grep -c loaded /run/tw-upgrade-outcomes)
if [ $rc -eq 0 ] && dpkg-query -W -f='${Version}' tokenwarden | grep -q 'next1$' && [ -n "$before" ] &&
   [ -n "$after" ] && [ "$after" -gt "$before" ] && [ "$tries" -ge 1 ] && [ "$loaded" -eq 0 ] &&
   $tw status >/dev/null 2>&1 && [ "$(outcome tw-libbpf.service)" = loaded ]; then
  result package_upgrade PASS "$(dpkg-query -W -f='${Version}' tokenwarden); generation $before -> $after (the new build's programs); a stranger refused $tries times out of $tries during the upgrade"
else
  result package_upgrade FAIL "apt rc=$rc generation $before -> $after, stranger loaded $loaded of $tries | $(tail -n5 /run/tw-upgrade.log)"
fi

# 5. Purge: the policy ends (nothing would be left to manage it), and nothing of tokenwarden is
# left but the administrator's own policy file.
apt-get purge -y tokenwarden tokenwarden-selinux >/run/tw-purge.log 2>&1
rc=$?
left=$(leftovers)
after_purge=$(outcome tw-stranger.service)
if [ $rc -eq 0 ] && [ -z "$left" ] && [ -f /etc/tokenwarden/policy.tw ] && [ "$after_purge" = loaded ]; then
  result package_purge PASS "apt-get purge: no package, file, unit, pin or program of tokenwarden is left; /etc/tokenwarden/policy.tw (the administrator's) is kept; the stranger loads again"
else
  result package_purge FAIL "rc=$rc stranger=$after_purge left: $(echo "$left" | head -n8 | tr '\n' ';') | $(tail -n4 /run/tw-purge.log)"
fi

# 6. Installing on a running system: the postinst starts the unit, which enforces at once.
(cd /var/cache/tw-debs/next && apt-get install -y ./*.deb) >/run/tw-reinstall.log 2>&1
rc=$?
if [ $rc -eq 0 ] && systemctl is-active --quiet tokenwarden.service && [ "$(outcome tw-stranger.service)" = refused ]; then
  result package_install_live PASS "the postinst started tokenwarden.service: $($tw status | head -n1)"
else
  result package_install_live FAIL "rc=$rc active=$(systemctl is-active tokenwarden.service) | $(tail -n4 /run/tw-reinstall.log)"
fi

echo "TWSYS-DONE"
