"""Every fill-in item of every bank (practice and graded), with answers a candidate really types: accepted
variants (another spelling, option order, bundled or long options, sudo, a full path, the other tool's
command) and rejected near misses (the wrong option, the wrong case, a neighbouring command). A fill-in
item without a row here fails test_every_fill_in_item_has_cases, so new items come with their cases."""

from __future__ import annotations

import pytest

from halab.course.questions import Question
from halab.course.quiz import check_catalogue, grade

# id: (accepted, rejected); at least two of each.
CASES: dict[str, tuple[list[str], list[str]]] = {
    # 02-ha-concepts: terms, compared without case
    "mtbf-fill-term": (["mtbf", "`MTBF`"], ["MTTR", "MTTF", "MTBF/MTTR"]),
    "mttr-fill-formula": (["mttr", " MTTR "], ["MTBF", "MTTF"]),
    "redundancy-spof-fill": (["spof", "Single Point of Failure"], ["SLA", "SPF"]),
    "dr-rpo-fill": (["rpo", "Recovery Point Objective"], ["RTO", "MTTR"]),
    # 03-clustering
    "corosync-votequorum-two-node": (["two_node:1", "two_node : 1", "`two_node: 1`"],
                                     ["two_node: 0", "wait_for_all: 1", "expected_votes: 1", "two-node: 1"]),
    "keygen-path": (["`/etc/corosync/authkey`", "  /etc/corosync/authkey"],
                    ["/etc/corosync/authkeys", "authkey", "/etc/corosync/corosync.key"]),
    "keygen-option-file": (["--key-file", "corosync-keygen -k", "sudo corosync-keygen -k /root/authkey"],
                           ["-l", "-r", "-K"]),
    "cfgtool-reload": (["sudo corosync-cfgtool -R", "/usr/sbin/corosync-cfgtool -R", "pcs cluster reload corosync",
                        "crm corosync reload"],
                       ["corosync-cfgtool -r", "corosync-cfgtool -L", "systemctl reload corosync",
                        "pcs cluster reload"]),
    "quorumtool-status-fill": (["sudo corosync-quorumtool -s", "/usr/sbin/corosync-quorumtool -s",
                                "pcs quorum status"],
                               ["corosync-cfgtool -s", "corosync-quorumtool -l", "corosync-quorumtool -S"]),
    "quorumtool-list": (["corosync-quorumtool -l", "sudo corosync-quorumtool -l"], ["-s", "-L", "-m"]),
    "cmapctl-get": (["-g -q", "-qg", "corosync-cmapctl -q -g runtime.config.totem.token"],
                    ["-g", "-q", "-s", "-q -g totem.token"]),
    "show-metadata": (["`--show-metadata`", "sudo crm_resource --show-metadata ocf:heartbeat:IPaddr2"],
                      ["--list-agents", "-M", "--metadata"]),
    "crm-mon-xml": (["--output-as xml", "-X", "crm_mon -1 --output-as=xml", "crm_mon -X1"],
                    ["--output-as=text", "--as-html", "-x", "--output-as=json"]),
    "crm-verify-live": (["crm_verify -LV", "crm_verify --live-check -VV", "sudo crm_verify -V -L",
                         "/usr/sbin/crm_verify --live-check"],
                        ["crm_verify -l", "crm_mon -1", "crm_verify", "crm_verify -x /var/lib/pacemaker/cib/cib.xml"]),
    "crm-resource-locate": (["--locate", "crm_resource -W -r web", "crm_resource --resource=web --locate"],
                            ["-L", "-a", "-w", "crm_resource -W -r vip"]),
    "crm-attribute-query": (["-G", "crm_attribute -t crm_config -n no-quorum-policy -G",
                             "crm_attribute --name=no-quorum-policy --type=crm_config --query"],
                            ["--update", "--delete", "--get", "-g"]),
    "cibadmin-query": (["--query", "cibadmin -Q", "sudo cibadmin --query"], ["-q", "-E", "--dump"]),
    "stonith-admin-reboot": (["stonith_admin -B node2", "stonith_admin --reboot=node2", "sudo stonith_admin -B node2"],
                             ["stonith_admin --fence node2", "stonith_admin --confirm node2",
                              "stonith_admin --reboot node1", "stonith_admin -B"]),
    "pcs-property-stonith": (["sudo pcs property set stonith-enabled=true",
                              "/usr/sbin/pcs property set stonith-enabled=true"],
                             ["pcs property set stonith-enabled=false", "pcs resource defaults stonith-enabled=true",
                              "pcs property stonith-enabled=true"]),
    "crm-group-fill": (["sudo crm configure group websvc vip web", "crm configure group 'websvc' vip web"],
                       ["crm configure group websvc web vip", "pcs resource group add websvc vip web",
                        "crm configure group vip web websvc"]),
    "stonith-admin-installed": (["--list-installed", "stonith_admin -I", "sudo stonith_admin --list-installed"],
                                ["-L", "-l", "--list-registered"]),
    # 04-fault-tolerance
    "protocol-default": (["c", "protocol c", "Protocol C;"], ["A", "B", "protocol A"]),
    "drbdadm-adjust": (["sudo drbdadm adjust r0", "drbdadm adjust all", "/usr/sbin/drbdadm adjust r0"],
                       ["drbdadm up r0", "drbdadm adjust", "drbdadm reload r0"]),
    "sb-survivor": (["sudo drbdadm connect r0", "drbdadm adjust r0"],
                    ["drbdadm connect --discard-my-data r0", "drbdadm invalidate r0", "drbdadm up r0"]),
    "drbd-fencing-fill": (["`resource-only`", " resource-only "],
                          ["resource-and-stonith", "dont-care", "resource_only"]),
    "proc-drbd-file": (["`/proc/drbd`", "/proc/drbd "],
                       ["/proc/drbd/status", "/etc/drbd.conf", "/sys/kernel/debug/drbd"]),
    # 05-ha-infrastructure
    "ipvsadm-list": (["ipvsadm -Ln", "ipvsadm -ln", "ipvsadm --list --numeric", "sudo ipvsadm -nL", "ipvsadm -n -L"],
                     ["ipvsadm -L", "ipvsadm -S -n", "ipvsadm -L -c"]),
    "haproxy-check-config": (["haproxy -f /etc/haproxy/haproxy.cfg -c",
                              "/usr/sbin/haproxy -c -V -f /etc/haproxy/haproxy.cfg",
                              "sudo haproxy -c -f /etc/haproxy/haproxy.cfg"],
                             ["haproxy -cf /etc/haproxy/haproxy.cfg", "haproxy -c",
                              "haproxy -f /etc/haproxy/haproxy.cfg", "systemctl reload haproxy"]),
    "keepalived-config-test": (["--config-test", "keepalived -t",
                                "keepalived --config-test -f /etc/keepalived/keepalived.conf"],
                               ["-n", "-d", "-T"]),
    "keepalived-conf-path": (["`/etc/keepalived/keepalived.conf`", " /etc/keepalived/keepalived.conf"],
                             ["/etc/keepalived.conf", "/etc/keepalived/keepalived.cfg"]),
    "cfgtool-links": (["corosync-cfgtool -n", "sudo corosync-cfgtool -s", "/usr/sbin/corosync-cfgtool -s"],
                      ["corosync-quorumtool -s", "corosync-cfgtool -R", "corosync-cfgtool -S"]),
    "ethmonitor-attribute": (["`ethmonitor-eth0`", " ethmonitor-eth0"], ["pingd", "ethmonitor", "ethmonitor_eth0"]),
    # 06-virtualization
    "net-list-inactive": (["sudo virsh net-list --all", "/usr/bin/virsh net-list --all"],
                          ["virsh net-list --inactive", "virsh list --all", "virsh net-list -a"]),
    "virsh-list-all": (["sudo virsh list --all", "/usr/bin/virsh list --all"],
                       ["virsh list --inactive", "virsh list", "virsh net-list --all"]),
    "virt-install-osinfo-list": (["virt-install --os-variant list", "virt-install --osinfo=list"],
                                 ["virt-install --osinfo", "virt-install --os-type list", "osinfo-query os"]),
    # 07-exam-prep (practice)
    "ldirectord-cf-path": (["`/etc/ha.d/ldirectord.cf`", " /etc/ha.d/ldirectord.cf "],
                           ["/etc/ldirectord.conf", "/etc/ha.d/ldirectord.conf", "/etc/keepalived/keepalived.conf"]),
    "ipvs-sync-start": (["ipvsadm --start-daemon=master --syncid=10 --mcast-interface=eth1",
                         "sudo ipvsadm --syncid 10 --start-daemon master --mcast-interface eth1"],
                        ["ipvsadm --start-daemon backup --mcast-interface eth1 --syncid 10",
                         "ipvsadm --start-daemon master --mcast-interface eth1",
                         "ipvsadm --start-daemon master --mcast-interface eth0 --syncid 10"]),
    "ipvsadm-connections": (["ipvsadm -Lcn", "ipvsadm -lnc", "ipvsadm --list --connection --numeric"],
                            ["ipvsadm -L -n", "ipvsadm -L -n --stats", "ipvsadm -L -c"]),
    "ipvsadm-daemon-list": (["ipvsadm -l --daemon", "sudo ipvsadm --list --daemon"],
                            ["ipvsadm --start-daemon master", "ipvsadm -L -c", "ipvsadm --daemon"]),
    "acl-deny": (["`deny`", " deny "], ["reject", "block", "drop", "Deny"]),
    "acl-host-fetch": (["Hdr(Host)", "req.hdr(host)", "hdr_dom(host)"], ["path_beg", "src", "hdr(server)"]),
    "pcs-constraint-full": (["pcs constraint config --full", "sudo pcs constraint --full"],
                            ["pcs constraint", "pcs resource config --full", "pcs constraint --all"]),
    "shadow-variable": (["`CIB_shadow`", " CIB_shadow"], ["CIB_file", "PCMK_shadow", "cib_shadow"]),
    "shadow-commit": (["crm_shadow -C test", "crm_shadow --commit=test", "sudo crm_shadow --commit test"],
                      ["crm_shadow --switch test", "crm_shadow --reset test", "crm_shadow --commit live"]),
    "standby-command": (["crm_standby --node node1 --update on", "crm_standby -v on -N node1", "pcs node standby node1",
                         "crm node standby node1", "crm_attribute --node=node1 --name=standby --update=on"],
                        ["crm_standby -N node1 -G", "crm_standby -N node1 -D", "crm_standby -v on",
                         "crm_standby -N node2 -v on"]),
    "attribute-node-query": (["crm_attribute -N node2 -n rack -G", "crm_attribute -N node2 -n rack -G -q",
                              "crm_attribute --query --name=rack --node=node2"],
                             ["crm_attribute --name rack --query", "crm_attribute -N node2 -n rack -v rack",
                              "crm_attribute -N node1 -n rack -G"]),
    "drbd9-json": (["drbdsetup status --json all", "sudo drbdsetup status --json", "/usr/sbin/drbdsetup status --json"],
                   ["drbdadm status --json", "drbdsetup events2 --now", "drbdsetup status --verbose",
                    "drbdsetup status --json r0"]),
    # graded/07-exam-prep
    "move-with-constraint": (["crm_resource -M -r web -N node2", "crm_resource --resource=web --node=node2 --move",
                              "sudo crm resource move web node2", "pcs resource move-with-constraint web node2"],
                             ["pcs resource move web node2", "crm_resource --move -r web",
                              "crm_resource --ban -r web -N node2", "crm_resource --move -r web -N node1"]),
    "clear-move-constraints": (["-U", "crm_resource --clear -r web", "crm_resource -U --resource web"],
                               ["--cleanup", "-C", "--un-move", "crm_resource --clear -r vip"]),
}


def fill_items() -> dict[str, Question]:
    practice, graded = check_catalogue()
    return {q.id: q for bank in (*practice, *graded) for q in bank.questions if q.kind == "fill"}


def test_every_fill_in_item_has_cases() -> None:
    items = fill_items()
    assert sorted(set(items) - set(CASES)) == [], "fill-in items without accepted/rejected cases"
    assert sorted(set(CASES) - set(items)) == [], "cases for items that are not fill-ins of any bank"
    thin = [i for i, (good, bad) in CASES.items() if len(good) < 2 or len(bad) < 2]
    assert not thin, f"each item needs two accepted variants and two rejected near misses: {thin}"


@pytest.mark.parametrize("item", sorted(CASES))
def test_fill_in_answers_are_judged_by_meaning(item: str) -> None:
    question = fill_items()[item]
    accepted, rejected = CASES[item]
    for answer in (*question.answers, *accepted):
        assert grade(question, answer).correct, f"{item}: {answer!r} should be accepted"
    for answer in rejected:
        feedback = grade(question, answer)
        assert feedback.well_formed and not feedback.correct, f"{item}: {answer!r} should be rejected"
    for wrong in question.wrong_answers:  # every listed near miss gets its own feedback, not the generic one
        feedback = grade(question, str(wrong.value))
        assert not feedback.correct and wrong.feedback in feedback.message, f"{item}: {wrong.value!r}"
