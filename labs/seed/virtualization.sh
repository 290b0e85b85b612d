# Install KVM and tools for virtualization
sudo apt-get install qemu-kvm libvirt-daemon-system libvirt-clients bridge-utils

# Create a virtual network
virsh net-define --file network.xml
virsh net-start default
virsh net-autostart default

# Create and run a virtual machine
virt-install --name ha-test-vm --ram 2048 --disk path=/var/lib/libvirt/images/vm1.img,size=10 --vcpus 2 --os-type linux --os-variant ubuntu20.04 --network network=default --graphics none --console pty,target_type=serial --noautoconsole --import
