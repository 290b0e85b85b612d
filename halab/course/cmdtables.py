"""Option tables for the commands whose options fill-in answers ask for (halab.course.cmdline reads them).

Notation: each word is one option, its names separated by '/', the canonical (short) one first; a suffix '='
means it needs a value, '?' that it may take one, '+' that repeating it counts once, '~' that it is harmless
for every question (verbosity: present or absent, the answer is the same). Only the options that questions
or plausible answers use are listed; an option that is not listed is compared exactly as typed, so an
unknown spelling is never taken for a known one.

The names are those of Debian 12's versions (Pacemaker 2.1.5, Corosync 3.1.7, drbd-utils 9.22, ipvsadm 1.31,
HAProxy 2.6, keepalived 2.2.7, libvirt 9.0, virt-install 4.1), from each command's --help on a lab node and
its man page.
"""

from __future__ import annotations

_PACEMAKER_COMMON = "-V/--verbose+~ -q/--quiet -h/--help --output-as= --output-to="

TABLES: dict[str, str] = {
    # Pacemaker command-line tools
    "crm_verify": f"-L/--live-check -x/--xml-file= -X/--xml-text= -p/--xml-pipe -S/--save-xml= {_PACEMAKER_COMMON}",
    "crm_mon": "-1/--one-shot -X/--as-xml -r/--inactive -f/--failcounts -o/--operations -t/--timing-details "
               "-A/--show-node-attributes -n/--group-by-node -R/--show-detail -b/--brief -s/--simple-status "
               "-m/--fence-history? -L/--neg-locations? -c/--tickets -j/--pending -i/--interval= -w/--web-cgi "
               "-d/--daemonize -D/--hide-headers -I/--include= --exclude= -V/--verbose+~ -Q/--quiet -h/--help "
               "--output-as= --output-to=",
    "crm_resource": "-r/--resource= -N/--node= -W/--locate -M/--move -B/--ban -U/--clear -C/--cleanup "
                    "-R/--refresh -L/--list -l/--list-raw -O/--list-operations -o/--list-all-operations "
                    "--show-metadata= --list-agents= --list-standards --list-ocf-providers= -q/--query-xml "
                    "-g/--get-parameter= -p/--set-parameter= -v/--parameter-value= -d/--delete-parameter= "
                    "-m/--meta -u/--lifetime= -f/--force -a/--constraints -A/--stack -Y/--why --restart "
                    "--wait -t/--resource-type= -Q/--quiet -V/--verbose+~ -h/--help --output-as= --output-to=",
    "crm_attribute": f"-n/--name= -v/--update= -G/--query -D/--delete -t/--type= -N/--node= -l/--lifetime= "
                     f"-i/--id= -s/--set-name= -d/--default= -z/--utilization {_PACEMAKER_COMMON}",
    "crm_standby": f"-N/--node= -v/--update= -G/--query -D/--delete -l/--lifetime= -i/--id= {_PACEMAKER_COMMON}",
    "crm_shadow": "-w/--which -p/--display -d/--diff -F/--file -c/--create= -a/--create-empty= -e/--edit= "
                  "-C/--commit= -D/--delete= -r/--reset= -s/--switch= -b/--batch -f/--force --all "
                  "-V/--verbose+~ -h/--help",
    "crm_simulate": "-L/--live-check -x/--xml-file= -p/--xml-pipe -S/--simulate -s/--show-scores "
                    "-U/--show-utilization -R/--run -I/--save-input= -O/--save-output= -G/--save-graph= "
                    "-D/--save-dotfile= -u/--node-up= -d/--node-down= -f/--node-fail= -i/--op-inject= "
                    "-F/--op-fail= -t/--set-datetime= -q/--quiet -V/--verbose+~ -h/--help",
    "crm_node": "-n/--name -N/--name-for-id= -q/--quorum -l/--list -p/--partition -i/--cluster-id -R/--remove= "
                "-f/--force -V/--verbose+~ -h/--help",
    "crm_failcount": f"-r/--resource= -N/--node= -G/--query -D/--delete -n/--operation= -I/--interval= "
                     f"{_PACEMAKER_COMMON}",
    "cibadmin": "-Q/--query -E/--erase -B/--bump -C/--create -M/--modify -P/--patch -R/--replace -D/--delete "
                "-d/--delete-all -o/--scope= -x/--xml-file= -X/--xml-text= -p/--xml-pipe -l/--local "
                "-A/--xpath= -n/--no-children -u/--upgrade -f/--force -V/--verbose+~ -h/--help",
    "stonith_admin": "-B/--reboot= -F/--fence= -U/--unfence= -I/--list-installed -L/--list-registered "
                     "-l/--list= -Q/--monitor= -s/--list-targets= -M/--metadata -H/--history= -a/--agent= "
                     "-R/--register= -D/--deregister= -C/--confirm= -c/--cleanup -t/--timeout= "
                     f"{_PACEMAKER_COMMON}",
    # Corosync
    "corosync-cfgtool": "-i= -s -n -R -L -k= -a= -b -h -H --force",
    "corosync-quorumtool": "-s -m -l -p -v= -n= -e= -H -f -a -o= -i -V -h",
    "corosync-cmapctl": "-g= -s -d= -D= -p= -t= -T -b -m= -C= -q -h",
    "corosync-keygen": "-k= -l -r -s= -h",
    # cluster shells: their words are positional; only global flags are options
    "pcs": "-f= --force --full --debug~ --wait? --all -h/--help",
    "crm": "-F/--force -w/--wait -d/--debug~ -h/--help",
    # DRBD
    "drbdadm": "-d/--dry-run -c/--config-file= -t/--config-to-test= -s/--drbdsetup= -m/--drbdmeta= -S/--stacked "
               "-v/--verbose~ --discard-my-data --force -h/--help",
    "drbdsetup": "--verbose --statistics --json --color= --now --force -h/--help",
    "drbdmeta": "--force -h/--help",
    # load balancing
    "ipvsadm": "-L/-l/--list -n/--numeric -A/--add-service -E/--edit-service -D/--delete-service -C/--clear "
               "-R/--restore -S/--save -a/--add-server -e/--edit-server -d/--delete-server -Z/--zero "
               "-t/--tcp-service= -u/--udp-service= -f/--fwmark-service= -s/--scheduler= -p/--persistent? "
               "-M/--netmask= -r/--real-server= -g/--gatewaying -i/--ipip -m/--masquerading -w/--weight= "
               "-x/--u-threshold= -y/--l-threshold= -c/--connection --timeout --daemon --stats --rate "
               "--start-daemon= --stop-daemon= --syncid= --mcast-interface= --mcast-group= --mcast-port= "
               "--exact -h/--help",
    "haproxy": "-c -f= -V~ -q -d -D -W -db -v -vv -p= -sf= -st=",
    "keepalived": "-t/--config-test? -f/--use-file= -l/--log-console -D/--log-detail~ -n/--dont-fork -P/--vrrp "
                  "-C/--check -d/--dump-conf -v/--version -h/--help",
    # libvirt
    "virsh": "--all --inactive --persistent --transient --autostart --live --config --name -c/--connect= "
             "-h/--help",
    "virt-install": "--osinfo/--os-variant= --import --memory/--ram= --vcpus= --disk= --network= --graphics= "
                    "--noautoconsole -n/--name= -c/--cdrom= -l/--location= --os-type= --virt-type= --boot= "
                    "-h/--help",
}
