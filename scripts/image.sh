#!/bin/sh
# scripts/image.sh BUOY VERSION OUTDIR: the OCI image buoy:VERSION, from scratch (no base image:
# none is reachable and none is needed). The root file system holds the stripped binary, exactly
# the shared libraries ldd names for it, BIRD and its libraries (the bgp: section runs it, found
# in PATH), and the few files glibc reads (passwd/group for script_user, nsswitch). No shell, no
# package manager, no CA bundle: health checks verify against the `ca` file a config names (a
# cluster's CA), mounted like the config.
# Writes OUTDIR/buoy-VERSION.oci.tar (OCI archive; `podman load -i`, `ctr -n k8s.io images
# import`) and OUTDIR/image/rootfs (the same tree, unpacked). buildah's storage lives under
# OUTDIR/image and is removed at the end: nothing is left in /var/lib/containers.
set -eu
# buildah keeps a blob-info cache in /var/lib/containers/cache whatever --root says: run in a
# private mount namespace with a tmpfs there, so the machine keeps nothing
if [ -z "${BUOY_IMAGE_NS:-}" ]; then
	BUOY_IMAGE_NS=1 exec unshare -m --propagation private "$0" "$@"
fi
mount -t tmpfs -o size=16m tmpfs /var/lib
bin=$1 version=$2 out=$3
work=$out/image
rootfs=$work/rootfs
archive=$out/buoy-$version.oci.tar
bird=${BIRD:-$(command -v bird || echo /usr/sbin/bird)}

rm -rf "$work" && mkdir -p "$rootfs"
# Debian's merged /usr: /lib and /lib64 are links into /usr, as the binaries' paths expect
mkdir -p "$rootfs/usr/sbin" "$rootfs/usr/lib" "$rootfs/usr/lib64" "$rootfs/etc/buoy" \
	"$rootfs/run/buoy" "$rootfs/tmp" "$rootfs/proc" "$rootfs/dev" "$rootfs/sys"
ln -s usr/lib "$rootfs/lib"
ln -s usr/lib64 "$rootfs/lib64"
chmod 1777 "$rootfs/tmp"

# copy_with_libs FILE: FILE (stripped) into /usr/sbin, then every library ldd resolves for it
# at its own path (a file, not the symlink chain)
copy_with_libs() {
	strip --strip-unneeded -o "$rootfs/usr/sbin/$(basename "$1")" "$1"
	ldd "$1" | awk '/=> \// { print $3 } /^\t\/[^ ]+ \(/ { print $1 }' | while read -r lib; do
		dest=$rootfs/usr${lib#/usr}
		mkdir -p "$(dirname "$dest")"
		[ -e "$dest" ] || cp -L "$lib" "$dest"
	done
}
copy_with_libs "$bin"
libs_buoy=$(du -sb "$rootfs" | cut -f1)
if [ -x "$bird" ]; then
	copy_with_libs "$bird"
else
	echo "image: $bird not found: the image has no BIRD (bgp: needs it)" >&2
fi

cat >"$rootfs/etc/passwd" <<EOF
root:x:0:0:root:/:/usr/sbin/nologin
nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin
EOF
cat >"$rootfs/etc/group" <<EOF
root:x:0:
nogroup:x:65534:
EOF
printf 'passwd: files\ngroup: files\nhosts: files dns\n' >"$rootfs/etc/nsswitch.conf"

B="buildah --root $work/storage --runroot $work/runroot --storage-driver vfs"
c=$($B from --quiet scratch)
$B copy --quiet "$c" "$rootfs" / >/dev/null
$B config --env PATH=/usr/sbin:/usr/bin --workingdir / \
	--cmd '["buoy", "run", "-c", "/etc/buoy/buoy.yaml"]' \
	--label org.opencontainers.image.title=buoy \
	--label org.opencontainers.image.version="$version" \
	--label org.opencontainers.image.description="floating VIP (VRRP/BGP) and TCP load balancer" \
	"$c"
$B commit --quiet --rm "$c" "buoy:$version" >/dev/null
rm -f "$out"/buoy-*.oci.tar  # older versions' too
# docker.io/library/buoy:VERSION is how kubelet spells the manifest's `buoy:VERSION`: ctr
# imports the archive under that name, podman load too (and answers to buoy:VERSION)
$B push --quiet "buoy:$version" "oci-archive:$archive:docker.io/library/buoy:$version"
$B rmi --all --force >/dev/null
rm -rf "$work/storage" "$work/runroot"

size=$(du -sb "$rootfs" | cut -f1)
echo "image buoy:$version archive=$archive bytes=$(stat -c %s "$archive")" \
	"rootfs_bytes=$size rootfs_bytes_without_bird=$libs_buoy"
