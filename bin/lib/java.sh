# Sourced by bin/* scripts: finds a JDK >= 21 and exports JAVA_HOME, or explains how to get one.
# Order: $JAVA_HOME, the java on PATH, then every JDK under /usr/lib/jvm (newest first).

flashvisor_java_major() { # JAVA_HOME -> major version, or nothing
    local release="$1/release" v
    [ -x "$1/bin/java" ] && [ -x "$1/bin/javac" ] || return 0
    if [ -r "$release" ]; then
        v=$(sed -n 's/^JAVA_VERSION="\([0-9]*\).*/\1/p' "$release")
    else
        v=$("$1/bin/java" -version 2>&1 | sed -n 's/.*version "\([0-9]*\).*/\1/p' | head -n 1)
    fi
    echo "$v"
}

flashvisor_find_java() {
    local candidates=() c major
    [ -n "${JAVA_HOME:-}" ] && candidates+=("$JAVA_HOME")
    if command -v javac >/dev/null 2>&1; then
        candidates+=("$(dirname "$(dirname "$(readlink -f "$(command -v javac)")")")")
    fi
    for c in $(ls -d /usr/lib/jvm/*/ 2>/dev/null | sort -rV); do candidates+=("${c%/}"); done
    for c in "${candidates[@]}"; do
        major=$(flashvisor_java_major "$c")
        if [ -n "$major" ] && [ "$major" -ge 21 ]; then
            export JAVA_HOME="$c"
            export PATH="$JAVA_HOME/bin:$PATH"
            return 0
        fi
    done
    {
        echo "flashvisor: no JDK 21 or newer found (looked at \$JAVA_HOME, javac on PATH and /usr/lib/jvm/*)."
        echo "Install one (e.g. Temurin 21/25 or 'apt-get install openjdk-21-jdk-headless' where your"
        echo "distribution has it) and set JAVA_HOME to it."
    } >&2
    return 1
}
