"""What the graders ask each node of a load-balancing lab ({names} are the lab's [settings]).

Balancers are asked about HAProxy and keepalived the way their Debian services run them: HAProxy's files are
the ``CONFIG`` (a file or a directory) and ``-f`` options of ``EXTRAOPTS`` that /etc/default/haproxy may set,
as in haproxy.service; keepalived's state comes from the daemon itself (its data file). Web servers are asked
whether Apache runs and whether the application answers on their own address. The client sends the requests
through the virtual IP that a real visitor would send.
"""

from __future__ import annotations

from graders.collectors.curl import WRITE_OUT
from graders.collectors.haproxy_cfg import FILE_MARKER
from graders.collectors.keepalived_check import SCRIPT_USER_BUG


def literal(shell: str) -> str:
    """Shell text with its braces kept: commands are filled in with str.format_map (halab/spec/kinds.py), where
    only {setting} is a placeholder."""
    return shell.replace("{", "{{").replace("}", "}}")


# The configuration haproxy.service loads: its defaults, overridden by /etc/default/haproxy (systemd reads
# that file with EnvironmentFile=, whose assignments are also valid sh).
_HAPROXY_SERVICE = literal('CONFIG=/etc/haproxy/haproxy.cfg; EXTRAOPTS="-S /run/haproxy-master.sock"; '
                           'for f in /etc/default/haproxy /etc/sysconfig/haproxy; do [ -r "$f" ] && . "$f"; done; ')
# Every file it reads: -f names a file or a directory of *.cfg, each printed after a marker line.
_HAPROXY_LIST = literal(
    'files="$CONFIG"; set -- $EXTRAOPTS; while [ $# -gt 1 ]; do [ "$1" = -f ] && files="$files $2"; shift; done; '
    'for f in $files; do if [ -d "$f" ]; then set -- "$f"/*.cfg; else set -- "$f"; fi; '
    f'for g in "$@"; do [ -e "$g" ] || continue; echo "{FILE_MARKER}$g"; cat "$g" || exit 1; done; done')
# The stats socket named by the configuration's `stats socket` line, asked through netcat (socat is not
# installed): a UNIX socket path, or ipv4@host:port.
_STATS = (_HAPROXY_SERVICE + "socket=$(" + _HAPROXY_LIST
          + literal(""" | awk '$1 == "stats" && $2 == "socket" {print $3; exit}'); """
                    """[ -n "$socket" ] || { echo "no 'stats socket' line in the HAProxy configuration" >&2; """
                    """exit 2; }; """
                    """case "$socket" in /*) echo "show stat" | nc -U -w 3 "$socket";; """
                    """*) a=${socket#*@}; echo "show stat" | nc -w 3 "${a%:*}" "${a##*:}";; esac"""))
# keepalived writes its data file when it gets the DATA signal; wait until the file stops growing.
_KEEPALIVED_DATA = literal(
    'pid=$(cat /run/keepalived.pid 2>/dev/null) && kill -0 "$pid" 2>/dev/null '
    '|| { echo "keepalived is not running" >&2; exit 3; }; '
    'f=/tmp/keepalived.data; rm -f $f; kill -s "$(keepalived --signum=DATA)" "$pid" || exit 4; '
    'for i in $(seq 40); do sleep 0.05; [ -s $f ] || continue; a=$(stat -c %s $f); sleep 0.05; '
    '[ "$a" = "$(stat -c %s $f)" ] && break; done; cat $f')
# keepalived 2.2.7 (Debian 12) kills its own config test (exit 143, "Terminated") when a script runs as a
# non-root script_user (or a vrrp_script's `user`), although the daemon loads the same file: fixed upstream in
# 2.2.8. Then the file is tested again with script_user root and without `user` lines (next to it, so relative
# includes resolve alike; dropping script_user alone is not enough: keepalived then takes keepalived_script, the
# default, if that account exists, and kills its test again), and each user named there must exist; a marker
# line says so (graders/collectors/keepalived_check.py).
_KEEPALIVED_TEST = literal(
    'DAEMON_ARGS=; [ -r /etc/default/keepalived ] && . /etc/default/keepalived; '
    'keepalived -t $DAEMON_ARGS 2>&1; rc=$?; [ $rc = 143 ] || exit $rc; '
    'conf=/etc/keepalived/keepalived.conf; set -- $DAEMON_ARGS; while [ $# -gt 0 ]; do case "$1" in '
    '-f|--use-file) conf=$2;; --use-file=*) conf=${1#*=};; esac; shift; done; '
    f'echo "{SCRIPT_USER_BUG}"; '
    'copy=$(mktemp -p "$(dirname "$conf")" .halab-config-test.XXXXXX) || exit $rc; '
    'sed -E -e "s/^([[:space:]]*)script_user[[:space:]].*/\\1script_user root/" '
    '-e "/^[[:space:]]*user[[:space:]]/d" "$conf" > "$copy"; '
    'keepalived -t -f "$copy" 2>&1; rc=$?; rm -f "$copy"; '
    'for u in $(awk \'$1 == "script_user" || $1 == "user" {print $2}\' "$conf"); do '
    'id "$u" >/dev/null 2>&1 || { echo "script user $u does not exist"; rc=5; }; done; exit $rc')

BALANCER = {
    "haproxy_check": _HAPROXY_SERVICE + literal('haproxy -c -f "$CONFIG" $EXTRAOPTS 2>&1'),
    "haproxy_cfg": _HAPROXY_SERVICE + _HAPROXY_LIST,
    "haproxy_stat": _STATS,
    "keepalived_check": _KEEPALIVED_TEST,
    "keepalived_data": _KEEPALIVED_DATA,
    "addresses": "ip -brief address show",
    "listening": "ss -Hltnp",
    "nonlocal_bind": "sysctl -n net.ipv4.ip_nonlocal_bind",
    "sysctl_boot": "systemd-analyze cat-config sysctl.d",
    "is_active": "systemctl is-active haproxy keepalived",
    "is_enabled": "systemctl is-enabled haproxy keepalived",
}


def request(url: str, *options: str) -> str:
    """One request with curl, printing the line graders/collectors/curl.py reads (url and options may hold
    {settings})."""
    return f"curl -s --connect-timeout 1 -m 2 -o /dev/null {' '.join(options)} -w '{literal(WRITE_OUT)}' {url}"


WEB = {
    "is_active": "systemctl is-active apache2",
    "is_enabled": "systemctl is-enabled apache2",
    # The node's own lab address (/etc/hosts), as a balancer reaches it.
    "app": request('"http://$(hostname){app_path}"'),
}

# The client plays several visitors, each from an address of its own (source-IP persistence would otherwise
# send all of one client's requests to one server): the addresses are added to it if missing.
_VISITORS = (literal('dev=$(ip -o route get ') + "{virtual_ip}" + literal(' | sed -n "s/.* dev \\([^ ]*\\).*/\\1/p"); ')
             + "for a in {client_addresses}; do ip address replace \"$a/32\" dev \"$dev\" || exit 1; done; ")
# After three requests without an answer the rest would only wait for their timeouts too.
_GIVE_UP = literal(" || { failed=$((failed + 1)); [ $failed -ge 3 ] && break 2; }")
CLIENT = {
    "visitors": _VISITORS + "failed=0; for a in {client_addresses}; do for i in 1 2; do "
                + request("http://{virtual_ip}{app_path}", '--interface "$a"') + _GIVE_UP + "; done; done",
    # One visitor with a browser's cookie jar: every cookie the answers set is sent back.
    "session": "jar=$(mktemp); failed=0; for i in 1 2 3 4 5 6; do for try in 1; do "
               + request("http://{virtual_ip}{app_path}", '-b "$jar" -c "$jar"') + _GIVE_UP
               + '; done; done; rm -f "$jar"',
}
