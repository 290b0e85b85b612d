# Install Pacemaker and Corosync
sudo apt-get install pacemaker corosync

# Configure Corosync
cat <<EOF >/etc/corosync/corosync.conf
totem {
    version: 2
    cluster_name: cluster1
    transport: udpu
}
nodelist {
    node {
        ring0_addr: node1
        nodeid: 1
    }
    node {
        ring0_addr: node2
        nodeid: 2
    }
}
quorum {
    provider: corosync_votequorum
}
EOF

# Start Corosync and Pacemaker
sudo systemctl start corosync
sudo systemctl start pacemaker
