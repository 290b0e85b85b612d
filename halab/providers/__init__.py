"""Providers bring a lab's nodes up and down behind one small interface (base.py: Provider, and PROVIDERS,
the table of them by name); one package per way of running nodes: nspawn/ (containers), libvirt/ (VMs, with
the libvirtd halab runs and the KVM probe), vagrant/ (VMs through Vagrant), incus/ (system containers on an
Incus cluster).

nspawn_launch.py is the container launcher's old name, kept for nodes started by a halab from before this
layout (halab/providers/nspawn/launch.py is the launcher).
"""
