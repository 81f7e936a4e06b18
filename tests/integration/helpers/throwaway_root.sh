#!/bin/sh
# throwaway_root.sh SCRATCH CMD...: runs CMD (a shell command) chrooted into a copy-on-write view
# of this machine's / : a private mount namespace, an overlay whose upper layer is a tmpfs on
# SCRATCH, with /proc, /dev, /run and /tmp of its own. Whatever CMD installs or removes lands
# in that tmpfs and vanishes with the namespace; the real root is never written.
# Files to hand in go in SCRATCH/in (seen as /in inside); run it through `unshare -m`.
set -eu
scratch=$1; shift
mount --make-rprivate /
mount -t tmpfs -o size=512m tmpfs "$scratch/layer"
mkdir -p "$scratch/layer/upper" "$scratch/layer/work"
mount -t overlay overlay \
  -o "lowerdir=/,upperdir=$scratch/layer/upper,workdir=$scratch/layer/work" "$scratch/root"
r=$scratch/root
mount -t proc proc "$r/proc"
mount --rbind /dev "$r/dev"
mount -t tmpfs tmpfs "$r/run"
mount -t tmpfs tmpfs "$r/tmp"
mkdir -p "$r/in" && mount --bind "$scratch/in" "$r/in"
exec chroot "$r" /bin/sh -eu -c "$*"
