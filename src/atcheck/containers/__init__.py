"""Containers: the Docker engine, the images atcheck builds offline, and cleaning up what runs created.

There is no registry to pull from, so every image is built here: a Debian base made with debootstrap and
``docker import``, then one image per implementation that copies trees already installed on the host (Node,
node_modules) into that base. The container launcher (:mod:`atcheck.targets.launchers.container`) runs them.
"""
