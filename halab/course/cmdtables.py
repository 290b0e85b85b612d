"""Option tables for the commands whose options fill-in answers ask for (halab.course.cmdline reads them).

Notation: each word is one option, its names separated by '/', the canonical (short) one first; a suffix '='
means it needs a value, '?' that it may take one, '+' that repeating it counts once, '~' that it is harmless
for every question (verbosity: present or absent, the answer is the same). A table that starts with the word
`nobundle` belongs to a command that does not read `-abc` as `-a -b -c` (HAProxy: `-cf` is not `-c -f`).
Only the options that questions or plausible answers use are listed; an option that is not listed is
compared exactly as typed, so an unknown spelling is never taken for a known one.

The names are those of Debian 12's versions (Pacemaker 2.1.5, Corosync 3.1.7, drbd-utils 9.22, ipvsadm 1.31,
HAProxy 2.6, keepalived 2.2.7, libvirt 9.0, virt-install 4.1), from each command's --help on a lab node and
its man page.
"""

from __future__ import annotations

_PACEMAKER_COMMON = "-V/--verbose+~ -$/--version --output-as= --output-to="

TABLES: dict[str, str] = {
    # Pacemaker 2.1.5 command-line tools (their --help-all; glib and getopt both allow bundling)
    "crm_verify": f"-L/--live-check -x/--xml-file= -X/--xml-text= -p/--xml-pipe -S/--save-xml= -h/--help "
                  f"{_PACEMAKER_COMMON}",
    "crm_mon": "-1/--one-shot -X/--as-xml -h/--as-html= -r/--inactive -f/--failcounts -o/--operations "
               "-t/--timing-details -A/--show-node-attributes -n/--group-by-node -R/--show-detail -b/--brief "
               "-s/--simple-status -m/--fence-history? -L/--neg-locations? -c/--tickets -i/--interval= "
               "-w/--web-cgi -d/--daemonize -D/--hide-headers -I/--include= -U/--exclude= -N/--disable-ncurses "
               f"-Q/--quiet -?/--help {_PACEMAKER_COMMON}",
    "crm_resource": "-r/--resource= -N/--node= -W/--locate -M/--move -B/--ban -U/--clear -e/--expired "
                    "-u/--lifetime= --promoted --master -C/--cleanup -R/--refresh -L/--list -l/--list-raw "
                    "-O/--list-operations -o/--list-all-operations --list-standards --list-ocf-providers "
                    "--list-agents= --show-metadata= -q/--query-xml -w/--query-xml-raw -g/--get-parameter= "
                    "-p/--set-parameter= -v/--parameter-value= -d/--delete-parameter= -m/--meta -z/--utilization "
                    "-a/--constraints -A/--stack -Y/--why --restart --wait -D/--delete -F/--fail --force-stop "
                    "--force-start -t/--resource-type= -f/--force -Q/--quiet -h/--help "
                    f"{_PACEMAKER_COMMON}",
    "crm_attribute": "-n/--name= -v/--update= -G/--query -D/--delete -t/--type= -N/--node= -l/--lifetime= "
                     "-i/--id= -s/--set-name= -d/--default= -z/--utilization -p/--promotion= -P/--pattern= "
                     f"-q/--quiet~ -h/--help {_PACEMAKER_COMMON}",
    "crm_standby": f"-N/--node= -v/--update= -G/--query -D/--delete -l/--lifetime= -i/--id= -q/--quiet --help "
                   f"{_PACEMAKER_COMMON}",
    "crm_failcount": f"-r/--resource= -N/--node= -G/--query -D/--delete -n/--operation= -I/--interval= "
                     f"-q/--quiet --help {_PACEMAKER_COMMON}",
    "crm_shadow": "-w/--which -p/--display -E/--edit -d/--diff -F/--file -c/--create= -e/--create-empty= "
                  "-C/--commit= -D/--delete= -r/--reset= -s/--switch= -f/--force -b/--batch -a/--all "
                  "-v/--validate-with= -?/--help -V/--verbose+~",
    "crm_simulate": "-L/--live-check -x/--xml-file= -p/--xml-pipe -R/--run -S/--simulate -X/--in-place "
                    "-A/--show-attrs -c/--show-failcounts -s/--show-scores -U/--show-utilization -u/--node-up= "
                    "-d/--node-down= -f/--node-fail= -i/--op-inject= -F/--op-fail= -t/--set-datetime= "
                    "-q/--quorum= -w/--watchdog= -g/--ticket-grant= -r/--ticket-revoke= -I/--save-input= "
                    "-O/--save-output= -G/--save-graph= -D/--save-dotfile= -Q/--quiet -h/--help "
                    f"{_PACEMAKER_COMMON}",
    "crm_node": f"-n/--name -N/--name-for-id= -q/--quorum -l/--list -p/--partition -i/--cluster-id -R/--remove= "
                f"-f/--force -Q/--quiet -h/--help {_PACEMAKER_COMMON}",
    "crm_ticket": f"-t/--ticket= -l/--info -L/--details -g/--grant -r/--revoke -s/--standby -a/--activate "
                  f"-c/--constraints -G/--get-attr= -S/--set-attr= -D/--delete-attr= -v/--attr-value= -f/--force "
                  f"-Q/--quiet -h/--help {_PACEMAKER_COMMON}",
    "cibadmin": "-Q/--query -E/--erase -B/--bump -C/--create -M/--modify -P/--patch -R/--replace -D/--delete "
                "-d/--delete-all -a/--empty -u/--upgrade -o/--scope= -x/--xml-file= -X/--xml-text= -p/--xml-pipe "
                "-l/--local -s/--sync-call -c/--allow-create -n/--no-children -A/--xpath= -e/--node-path "
                "-U/--user= -t/--timeout= -N/--node= -f/--force -?/--help -V/--verbose+~",
    "stonith_admin": "-B/--reboot= -F/--fence= -U/--unfence= -C/--confirm= -I/--list-installed "
                     "-L/--list-registered -l/--list= -s/--list-targets= -M/--metadata -Q/--query= "
                     "-H/--history= -h/--last= -c/--cleanup -b/--broadcast -a/--agent= -R/--register= "
                     "-D/--deregister= -r/--register-level= -d/--deregister-level= -v/--device= -i/--index= "
                     f"-t/--timeout= -y/--delay= -q/--quiet -?/--help {_PACEMAKER_COMMON}",
    # Corosync 3.1.7 (getopt)
    "corosync-cfgtool": "-i= -s -n -b -R -L -k= -a= -h -H --force",
    "corosync-quorumtool": "-s -m -l -a -p -v= -n= -e= -H -i -o= -f -h -V",
    "corosync-cmapctl": "-g -s -d -D -t -T -q -b -C -p= -m= -h",  # modes are flags; keys are positional
    "corosync-keygen": "-k/--key-file= -r/--random-file= -l/--less-secure -s/--size= -m= -h/--help",
    # cluster shells: their words are positional; only global flags are options
    "pcs": "-f= --force --full --debug~ --wait? --all -h/--help",
    "crm": "-F/--force -w/--wait -d/--debug~ -h/--help",
    # drbd-utils 9.22
    "drbdadm": "-d/--dry-run -c/--config-file= -t/--config-to-test= -s/--drbdsetup= -m/--drbdmeta= -S/--stacked "
               "-v/--verbose~ --discard-my-data --force -h/--help -V/--version",
    "drbdsetup": "--verbose --statistics --json --color= --now --force -h/--help",
    "drbdmeta": "--force -h/--help",
    # load balancing: ipvsadm 1.31 (popt), HAProxy 2.6 (no bundling: -cf is not -c -f), keepalived 2.2.7
    "ipvsadm": "-L/-l/--list -n/--numeric -A/--add-service -E/--edit-service -D/--delete-service -C/--clear "
               "-R/--restore -S/--save -a/--add-server -e/--edit-server -d/--delete-server -Z/--zero "
               "-t/--tcp-service= -u/--udp-service= -f/--fwmark-service= -s/--scheduler= -p/--persistent? "
               "-M/--netmask= -r/--real-server= -g/--gatewaying -i/--ipip -m/--masquerading -w/--weight= "
               "-x/--u-threshold= -y/--l-threshold= -c/--connection --timeout --daemon --stats --rate "
               "--start-daemon= --stop-daemon= --syncid= --mcast-interface= --mcast-group= --mcast-port= "
               "--exact -h/--help",
    "haproxy": "nobundle -c -f= -V~ -q~ -d -D -W -Ws -db -v -vv -p= -sf= -st= -C=",
    "keepalived": "-t/--config-test? -f/--use-file= -l/--log-console -D/--log-detail~ -n/--dont-fork -P/--vrrp "
                  "-C/--check -d/--dump-conf -v/--version -h/--help",
    "ldirectord": "-d/--debug -h/--help -v/--version",
    # libvirt 9.0, virt-install 4.1
    "virsh": "--all --inactive --persistent --transient --autostart --no-autostart --live --config --name "
             "-c/--connect= -h/--help",
    "virt-install": "--osinfo/--os-variant= --import --memory/--ram= --vcpus= --disk= --network= --graphics= "
                    "--noautoconsole -n/--name= -c/--cdrom= -l/--location= --os-type= --virt-type= --boot= "
                    "-h/--help",
}
