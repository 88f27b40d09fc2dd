#!/bin/sh
# pos-connector offline installer: everything it installs comes from the wheels beside it.
#
#   sh install.sh                       install or upgrade into /opt/pos-connector as a system service
#   sh install.sh --prefix DIR --no-system
#                                       an unprivileged or test install: a venv in DIR, config and data
#                                       under DIR/etc and DIR/var, no user, no unit, nothing in /etc
#   sh install.sh --uninstall [--purge] remove the program; configuration and data stay unless --purge
#
# Re-running it upgrades in place: the venv is refreshed from the bundled wheels, an existing
# configuration and the data are never touched, and the database schema is migrated.
# The .deb and .rpm packages call this same script from their maintainer scripts.
set -eu

PREFIX=/opt/pos-connector
SYSTEM=1
ACTION=install
PURGE=0
PYTHON=""
HERE=$(cd "$(dirname "$0")" && pwd)
WHEELS="$HERE/wheels"
SERVICE_USER=pos-connector
ETC=/etc/pos-connector
VAR=/var/lib/pos-connector
UNIT=/etc/systemd/system/pos-connector.service

die() { echo "install.sh: $*" >&2; exit 2; }
say() { echo "install.sh: $*"; }

while [ $# -gt 0 ]; do
    case "$1" in
        --prefix) [ $# -ge 2 ] || die "--prefix needs a directory"; PREFIX=$2; shift 2 ;;
        --prefix=*) PREFIX=${1#--prefix=}; shift ;;
        --no-system) SYSTEM=0; shift ;;
        --uninstall) ACTION=uninstall; shift ;;
        --purge) PURGE=1; shift ;;
        --python) [ $# -ge 2 ] || die "--python needs an interpreter"; PYTHON=$2; shift 2 ;;
        --wheels) [ $# -ge 2 ] || die "--wheels needs a directory"; WHEELS=$2; shift 2 ;;
        -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
        *) die "unknown option $1 (see --help)" ;;
    esac
done

case "$PREFIX" in /*) ;; *) PREFIX="$(pwd)/$PREFIX" ;; esac
if [ "$SYSTEM" = 0 ]; then
    ETC="$PREFIX/etc"
    VAR="$PREFIX/var"
fi
VENV="$PREFIX/venv"
CONNECTOR="$VENV/bin/connector"

find_python() {
    if [ -n "$PYTHON" ]; then
        command -v "$PYTHON" >/dev/null 2>&1 || die "python interpreter $PYTHON not found"
        echo "$PYTHON"; return
    fi
    for candidate in python3.13 python3.12 python3.11 python3; do
        if command -v "$candidate" >/dev/null 2>&1 && "$candidate" -c \
            'import sys, venv; sys.exit(0 if sys.version_info >= (3, 11) else 1)' 2>/dev/null; then
            echo "$candidate"; return
        fi
    done
    die "Python 3.11 or newer with the venv module is required (Astra/Debian: python3-venv)"
}

systemd_running() { [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; }

install_program() {
    [ -d "$WHEELS" ] || die "no wheels directory at $WHEELS"
    py=$(find_python)
    mkdir -p "$PREFIX"
    if [ ! -x "$VENV/bin/python" ]; then
        say "creating $VENV with $py"
        "$py" -m venv "$VENV" || die "cannot create a venv in $VENV (is python3-venv installed?)"
    fi
    say "installing pos-connector from $WHEELS (no network)"
    PIP_CONFIG_FILE=/dev/null "$VENV/bin/python" -m pip install --quiet --no-index --find-links "$WHEELS" \
        --disable-pip-version-check --upgrade 'pos-connector[postgres]' \
        || die "pip could not install from $WHEELS"
    "$CONNECTOR" --version
}

create_dirs() {
    if [ "$SYSTEM" = 1 ]; then
        if ! id "$SERVICE_USER" >/dev/null 2>&1; then
            say "creating system user $SERVICE_USER"
            nologin=$(command -v nologin || echo /usr/sbin/nologin)
            useradd --system --home-dir "$VAR" --no-create-home --shell "$nologin" "$SERVICE_USER"
        fi
        install -d -m 0750 -o root -g "$SERVICE_USER" "$ETC"
        install -d -m 0700 -o "$SERVICE_USER" -g "$SERVICE_USER" "$VAR"
    else
        install -d -m 0750 "$ETC"
        install -d -m 0700 "$VAR"
    fi
    example=$("$VENV/bin/python" -c 'from connector.resources import resource_path; print(resource_path("connector.example.toml"))')
    install -m 0640 "$example" "$ETC/connector.example.toml"
    if [ "$SYSTEM" = 1 ]; then chgrp "$SERVICE_USER" "$ETC/connector.example.toml"; fi
    # Secret files are readable by the service alone, whoever created them.
    for secret in "$ETC"/*.password "$ETC"/*.token "$ETC"/*.secret; do
        [ -f "$secret" ] || continue
        chmod 0600 "$secret"
        if [ "$SYSTEM" = 1 ]; then chown "$SERVICE_USER" "$secret"; fi
    done
}

install_unit() {
    [ "$SYSTEM" = 1 ] || return 0
    template=$("$VENV/bin/python" -c 'from connector.resources import resource_path; print(resource_path("pos-connector.service"))')
    sed -e "s#/opt/pos-connector/venv/bin/connector#$CONNECTOR#" \
        -e "s#/etc/pos-connector/#$ETC/#g" "$template" > "$UNIT.tmp"
    chmod 0644 "$UNIT.tmp"
    mv "$UNIT.tmp" "$UNIT"
    say "systemd unit written to $UNIT"
    if systemd_running; then systemctl daemon-reload || true; fi
}

migrate() {
    config="$ETC/connector.toml"
    if [ ! -f "$config" ]; then
        say "no $config yet: copy $ETC/connector.example.toml there, fill it in, then run"
        say "  $CONNECTOR db upgrade --config $config"
        return 0
    fi
    say "migrating the database schema ($config)"
    if [ "$SYSTEM" = 1 ] && [ "$(id -u)" = 0 ]; then
        runuser -u "$SERVICE_USER" -- env CONNECTOR_DAEMON__DATA_DIR="$VAR" "$CONNECTOR" db upgrade --config "$config"
    else
        CONNECTOR_DAEMON__DATA_DIR="$VAR" "$CONNECTOR" db upgrade --config "$config"
    fi
}

uninstall() {
    if [ "$SYSTEM" = 1 ]; then
        if systemd_running; then
            systemctl disable --now pos-connector.service >/dev/null 2>&1 || true
        fi
        rm -f "$UNIT"
        if systemd_running; then systemctl daemon-reload || true; fi
    fi
    rm -rf "$VENV"
    say "removed $VENV"
    if [ "$PURGE" = 1 ]; then
        rm -rf "$ETC" "$VAR"
        say "purged $ETC and $VAR"
        if [ "$SYSTEM" = 1 ] && id "$SERVICE_USER" >/dev/null 2>&1; then
            userdel "$SERVICE_USER" >/dev/null 2>&1 || true
        fi
    else
        say "kept configuration in $ETC and data in $VAR (--purge removes them)"
    fi
}

if [ "$SYSTEM" = 1 ] && [ "$(id -u)" != 0 ]; then
    die "a system install needs root (or use --prefix DIR --no-system)"
fi

case "$ACTION" in
    install)
        install_program
        create_dirs
        install_unit
        migrate
        say "done: $CONNECTOR"
        ;;
    uninstall) uninstall ;;
esac
