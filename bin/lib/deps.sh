# Sourced by bin/test and bin/bench: makes sure the external programs the tests and benchmarks
# drive are installed (real NBD clients and a real SAN stand-in), installing them with apt-get
# when running as root on Debian/Ubuntu.

FLASHVISOR_DEBIAN_PACKAGES="fio nbdkit libnbd-bin python3-libnbd qemu-utils openssl"
FLASHVISOR_TOOLS="fio nbdkit nbdinfo nbdsh qemu-img qemu-io openssl"

flashvisor_missing_tools() {
    local t missing=""
    for t in $FLASHVISOR_TOOLS; do
        command -v "$t" >/dev/null 2>&1 || missing="$missing $t"
    done
    # nbdsh is a Python program: it needs Debian's python3 with the libnbd module.
    if [ -z "$missing" ] && ! /usr/bin/python3 -c 'import nbd' >/dev/null 2>&1; then
        missing=" python3-libnbd"
    fi
    echo "$missing"
}

flashvisor_ensure_tools() {
    local missing
    missing=$(flashvisor_missing_tools)
    [ -z "$missing" ] && return 0
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "flashvisor: installing Debian packages for:$missing" >&2
        apt-get update -qq >&2
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $FLASHVISOR_DEBIAN_PACKAGES >&2
        missing=$(flashvisor_missing_tools)
        [ -z "$missing" ] && return 0
    fi
    echo "flashvisor: missing programs:$missing" >&2
    echo "install them with: sudo apt-get install $FLASHVISOR_DEBIAN_PACKAGES" >&2
    return 1
}
