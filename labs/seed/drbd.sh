# Install DRBD
sudo apt-get install drbd-utils

# Setup DRBD configuration
cat <<EOF >/etc/drbd.d/r0.res
resource r0 {
    on node1 {
        device /dev/drbd0;
        disk /dev/sda;
        address 192.168.1.1:7789;
        meta-disk internal;
    }
    on node2 {
        device /dev/drbd0;
        disk /dev/sdb;
        address 192.168.1.2:7789;
        meta-disk internal;
    }
}
EOF

# Initialize DRBD resource
sudo drbdadm create-md r0
sudo drbdadm up r0

# Make one node primary
sudo drbdadm primary --force r0
