#!/usr/bin/env bash
# A stand-in for the CUDA base image, for building and testing the image on a machine that reaches Debian's package
# mirror but not Docker Hub (where nvidia/cuda lives). It is Debian 12 with nothing of CUDA: an image built on it
# runs every target on the CPU (GPUS=none ARTIFACT_DEVICE=cpu), which is what it is for. The image records the
# base it was built on (label org.opencontainers.image.base.name), so it cannot pass for the CUDA image.
#
#   docker/standin-base.sh [TAG]        (default TAG: standin/debian-python:bookworm; needs root and debootstrap)
#
# This machine's own CA certificates are copied in, so that a TLS-intercepting proxy the host trusts is trusted
# inside the build too.
set -euo pipefail
tag=${1:-standin/debian-python:bookworm}
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
command -v debootstrap >/dev/null || { echo "error: debootstrap is missing; apt-get install debootstrap" >&2; exit 2; }
rootfs=$(mktemp -d)
trap 'rm -rf "$rootfs"' EXIT
debootstrap --variant=minbase --include=ca-certificates bookworm "$rootfs" "$mirror"
if compgen -G "/usr/local/share/ca-certificates/*.crt" >/dev/null; then
  cp /usr/local/share/ca-certificates/*.crt "$rootfs/usr/local/share/ca-certificates/"
  chroot "$rootfs" update-ca-certificates
fi
tar -C "$rootfs" -c . | docker import --change 'CMD ["bash"]' - "$tag"
echo "built $tag; now: make image BASE_IMAGE=$tag NETWORK=host ..."
