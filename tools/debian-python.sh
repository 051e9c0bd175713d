#!/usr/bin/env bash
# Install a CPython that pyenv cannot build here (its builds download the sources from
# elsewhere), from Debian's own binary packages: `tools/debian-python.sh 3.14`.
#
# Debian stable has no python3.14; unstable has, built against a newer C library than stable's.
# So the interpreter and the libraries it needs are unpacked into a folder of their own, and the
# binary is pointed at them (patchelf: that folder's loader, and an RPATH to its libraries).
# Nothing outside the folder changes; processes it starts (redis-server, sh) use the system's.
# The folder is a pyenv version ($PYENV_ROOT/versions/<version>-debian), which is where
# noxfile.py looks for interpreters.
set -euo pipefail

VERSION=${1:?"usage: $0 3.14 [destination]"}
ROOT=${PYENV_ROOT:-$HOME/.pyenv}
DEST=${2:-$ROOT/versions/$VERSION-debian}
SUITE=${DEBIAN_SUITE:-unstable}
PACKAGES=(
  "python$VERSION-minimal" "libpython$VERSION-minimal" "libpython$VERSION-stdlib"
  libc6 libssl3t64 libexpat1 zlib1g libbz2-1.0 libdb5.3t64 libffi8 liblzma5 libzstd1
  libncursesw6 libtinfo6 libreadline8t64 libsqlite3-0 libuuid1 libgcc-s1 libstdc++6
)

if [ -x "$DEST/bin/python$VERSION" ] && "$DEST/bin/python$VERSION" -c 'import ssl, sqlite3'; then
  echo "Python $VERSION is installed: $DEST/bin/python$VERSION"; exit 0
fi
SUDO=$( [ "$(id -u)" = 0 ] || echo sudo )
command -v patchelf >/dev/null || {
  $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq patchelf >/dev/null; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/lists/partial" "$work/cache/archives/partial" "$work/debs"
echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian $SUITE main" \
  > "$work/sources.list"
apt=(-o "Dir::Etc::SourceList=$work/sources.list" -o Dir::Etc::SourceParts=/dev/null
     -o "Dir::State::Lists=$work/lists" -o "Dir::Cache=$work/cache" -o APT::Sandbox::User=root)
apt-get "${apt[@]}" update -qq
(cd "$work/debs" && apt-get "${apt[@]}" download -qq "${PACKAGES[@]}")

rm -rf "$DEST" && mkdir -p "$DEST/bin"
for deb in "$work"/debs/*.deb; do dpkg-deb -x "$deb" "$DEST/root"; done
libs="$DEST/root/usr/lib/x86_64-linux-gnu"
binary="$DEST/root/usr/bin/python$VERSION"
patchelf --set-interpreter "$libs/ld-linux-x86-64.so.2" --force-rpath --set-rpath "$libs" "$binary"
ln -s "../root/usr/bin/python$VERSION" "$DEST/bin/python$VERSION"
ln -s "python$VERSION" "$DEST/bin/python3"
"$DEST/bin/python$VERSION" -c '
import bz2, ctypes, lzma, readline, sqlite3, ssl, sys, uuid, zlib, zoneinfo
print("Python", sys.version.split()[0], "installed:", sys.executable)'
