# The virtualization lab's adaptation of the course seed's third example (the seed's own text:
# ../seed/virtualization.sh). Adapted to run on the lab's hypervisors, mistakes kept: the seed's network.xml is
# written out (a NAT network named vmnet); the VM is the lab's guest1 with the memory a hypervisor container can
# give it (--ram 128; the seed asks 2048) and no --vcpus, --os-variant or --console; the package installation is
# left out (the hypervisors have libvirt and QEMU). Notebook 06 shows the seed, this, and the corrected version
# (solutions/virtualization.py) and names each mistake:
#   1. the network is defined from network.xml, whose <name> is vmnet, but then `default` is started and
#      autostarted: vmnet stays inactive, and on the lab's hypervisors there is no network `default` at all;
#   2. --os-type is deprecated: virt-install ignores it with a warning, and without --osinfo (or --os-variant)
#      virt-install now refuses to create the VM;
#   3. --import of path=...,size=10 creates a NEW, EMPTY 10 GiB disk and boots it: there is nothing to boot;
#   4. --ram is the old spelling of --memory.
# For the lab two more things differ, which are not mistakes on a single host: a NAT network is private to one
# hypervisor (a migrated guest would be cut off), and a disk in /var/lib/libvirt/images is local to one.
cat > network.xml <<'XML'
<network>
  <name>vmnet</name>
  <forward mode='nat'/>
  <bridge name='virbr1'/>
  <ip address='192.168.100.1' netmask='255.255.255.0'>
    <dhcp>
      <range start='192.168.100.10' end='192.168.100.99'/>
    </dhcp>
  </ip>
</network>
XML
virsh net-define network.xml
virsh net-start default
virsh net-autostart default
virt-install --name guest1 --ram 128 --os-type linux --import \
    --disk path=/var/lib/libvirt/images/guest1.qcow2,size=10 \
    --network network=vmnet --graphics none --noautoconsole
