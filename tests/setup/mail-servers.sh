#!/usr/bin/env bash
# Starts (or reuses) a local Dovecot (IMAP + LMTP) and Postfix (SMTP) for the
# email tests, bound to 127.0.0.1 only, with every file under one state
# directory in ${TMPDIR:-/tmp}. Nothing in /etc is changed and no init system
# is used.
#
# Usage:
#   eval "$(tests/setup/mail-servers.sh)"          # start or reuse
#   tests/setup/mail-servers.sh stop               # stop the instance on these ports
#
# Environment (all optional):
#   INBOX_TEST_IMAP_PORT       IMAP port (plain, STARTTLS offered), default 10143
#   INBOX_TEST_IMAPS_PORT      IMAP over implicit TLS, default 10993
#   INBOX_TEST_SMTP_PORT       SMTP port (plain, STARTTLS offered), default 10025
#   INBOX_TEST_MAIL_PASSWORD   the shared test password, default below
#   INBOX_TEST_MAIL_STATE_DIR  state directory to use (default: the last one
#                              used for these ports, else a fresh mktemp dir)
#
# Prints `export` lines for INBOX_TEST_IMAP_PORT, INBOX_TEST_IMAPS_PORT,
# INBOX_TEST_SMTP_PORT, INBOX_TEST_MAIL_STATE_DIR, INBOX_TEST_MAIL_PASSWORD and
# INBOX_TEST_MAIL_CA_FILE on stdout; every message goes to stderr.
#
# TLS: a throwaway certificate authority and a server certificate for
# `localhost` / 127.0.0.1 are made with openssl in tls/ of the state
# directory (once). Clients trust them through INBOX_TEST_MAIL_CA_FILE.
#
# Users: any address in the test domains saintejulie.test and example.test
# exists. Dovecot authenticates every user with the one shared password
# (passdb static) and gives every user a Maildir under mail/<domain>/<name>
# (userdb static with allow_all_users), and Postfix accepts any local part of
# those domains (virtual_mailbox_maps = static:ok) and delivers over LMTP.
# Tests therefore create fresh users simply by sending to a new address, with
# no reload. The price: an unknown user cannot be tested (it does not exist),
# and any name can log in over IMAP, which is harmless on 127.0.0.1 with
# throwaway data. Mail to other domains is refused (relay access denied).
#
# The recipe follows the project's notes on test mail servers: master.cf
# written from scratch with chroot `n` everywhere, maillog_file_prefixes set,
# the state directory chmod 755, and liveness judged by /proc/PID/stat (a
# zombie is dead) plus a TCP connect, because PID 1 here reaps late.
set -euo pipefail

IMAP_PORT="${INBOX_TEST_IMAP_PORT:-10143}"
SMTP_PORT="${INBOX_TEST_SMTP_PORT:-10025}"
IMAPS_PORT="${INBOX_TEST_IMAPS_PORT:-10993}"
PASSWORD="${INBOX_TEST_MAIL_PASSWORD:-inbox-test-password}"
BASE="${TMPDIR:-/tmp}"
POINTER="$BASE/inbox-mail-$IMAP_PORT-$SMTP_PORT"
READY_TIMEOUT_SECS=30

log() { echo "mail-servers: $*" >&2; }
die() { log "error: $*"; exit 1; }

# --- process and port helpers -------------------------------------------

# A PID is alive when /proc has it and it is not a zombie.
alive() {
    local pid="$1" state
    [[ "$pid" =~ ^[0-9]+$ ]] || return 1
    [[ -r "/proc/$pid/stat" ]] || return 1
    state="$(sed -E 's/^[0-9]+ \(.*\) ([A-Za-z]).*/\1/' "/proc/$pid/stat" 2>/dev/null || echo X)"
    [[ "$state" != "Z" && "$state" != "X" ]]
}

port_open() {
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

read_pid() {
    [[ -f "$1" ]] || return 0
    tr -d ' \n' <"$1"
}

dovecot_pid() { read_pid "$1/dovecot/run/master.pid"; }
postfix_pid() { read_pid "$1/postfix/spool/pid/master.pid"; }

wait_until_dead() {
    local pid="$1" i
    for ((i = 0; i < 100; i++)); do
        alive "$pid" || return 0
        sleep 0.1
    done
    return 1
}

stop_instance() {
    local dir="$1" pid
    [[ -d "$dir" ]] || return 0
    for pid in "$(dovecot_pid "$dir")" "$(postfix_pid "$dir")"; do
        if [[ -n "$pid" ]] && alive "$pid"; then
            log "stopping pid $pid of $dir"
            kill -TERM "$pid" 2>/dev/null || true
            wait_until_dead "$pid" || { kill -KILL "$pid" 2>/dev/null || true; wait_until_dead "$pid" || true; }
        fi
    done
}

wait_ports_free() {
    local i
    for ((i = 0; i < 100; i++)); do
        if ! port_open "$IMAP_PORT" && ! port_open "$IMAPS_PORT" && ! port_open "$SMTP_PORT"; then
            return 0
        fi
        sleep 0.1
    done
    return 1
}

# --- stop sub-command -------------------------------------------------------

if [[ "${1:-}" == "stop" ]]; then
    if [[ -f "$POINTER" ]]; then
        stop_instance "$(cat "$POINTER")"
        rm -f "$POINTER"
    fi
    exit 0
fi

# --- packages ---------------------------------------------------------------

packages_present() {
    command -v dovecot >/dev/null 2>&1 \
        && command -v postfix >/dev/null 2>&1 \
        && [[ -x /usr/lib/dovecot/imap && -x /usr/lib/dovecot/lmtp ]]
}

if ! packages_present; then
    log "installing dovecot and postfix"
    export DEBIAN_FRONTEND=noninteractive
    install() {
        apt-get install -y --no-install-recommends \
            dovecot-core dovecot-imapd dovecot-lmtpd postfix >&2
    }
    # Update the package lists only when an install without them fails.
    if ! install; then
        apt-get update >&2
        install
    fi
    packages_present || die "dovecot or postfix is still missing after installation"
fi

# --- state directory ----------------------------------------------------------

PREVIOUS=""
[[ -f "$POINTER" ]] && PREVIOUS="$(cat "$POINTER")"

if [[ -n "${INBOX_TEST_MAIL_STATE_DIR:-}" ]]; then
    STATE_DIR="$INBOX_TEST_MAIL_STATE_DIR"
elif [[ -n "$PREVIOUS" && -d "$PREVIOUS" ]]; then
    STATE_DIR="$PREVIOUS"
else
    STATE_DIR="$(mktemp -d "$BASE/inbox-mail.XXXXXX")"
fi
mkdir -p "$STATE_DIR"
STATE_DIR="$(cd "$STATE_DIR" && pwd -P)"

# Another instance owned these ports: stop it before starting here.
if [[ -n "$PREVIOUS" && "$PREVIOUS" != "$STATE_DIR" ]]; then
    log "replacing the instance in $PREVIOUS"
    stop_instance "$PREVIOUS"
    wait_ports_free || die "ports $IMAP_PORT/$SMTP_PORT stay busy after stopping $PREVIOUS"
fi

DOVECOT_RUNNING=no
POSTFIX_RUNNING=no
pid="$(dovecot_pid "$STATE_DIR")"
if [[ -n "$pid" ]] && alive "$pid" && port_open "$IMAP_PORT" && port_open "$IMAPS_PORT"; then DOVECOT_RUNNING=yes; fi
pid="$(postfix_pid "$STATE_DIR")"
if [[ -n "$pid" ]] && alive "$pid" && port_open "$SMTP_PORT"; then POSTFIX_RUNNING=yes; fi

if [[ "$DOVECOT_RUNNING" == no ]]; then
    # A master that lost one of its ports is restarted from scratch.
    pid="$(dovecot_pid "$STATE_DIR")"
    if [[ -n "$pid" ]] && alive "$pid"; then
        kill -TERM "$pid" 2>/dev/null || true
        wait_until_dead "$pid" || true
    fi
    if port_open "$IMAP_PORT"; then
        die "port $IMAP_PORT is in use by an unknown process; set INBOX_TEST_IMAP_PORT"
    fi
    if port_open "$IMAPS_PORT"; then
        die "port $IMAPS_PORT is in use by an unknown process; set INBOX_TEST_IMAPS_PORT"
    fi
fi
if [[ "$POSTFIX_RUNNING" == no ]] && port_open "$SMTP_PORT"; then
    die "port $SMTP_PORT is in use by an unknown process; set INBOX_TEST_SMTP_PORT"
fi

chmod 755 "$STATE_DIR"
mkdir -p "$STATE_DIR"/{dovecot/run,dovecot/lib,postfix/conf,postfix/spool,postfix/data,mail,log,tls}
chown nobody:nogroup "$STATE_DIR/mail"
chown postfix:postfix "$STATE_DIR/postfix/data"

# --- TLS certificates ------------------------------------------------------------

TLS_DIR="$STATE_DIR/tls"
if [[ ! -s "$TLS_DIR/server.pem" || ! -s "$TLS_DIR/ca.pem" ]]; then
    command -v openssl >/dev/null 2>&1 || die "openssl is needed to make the test certificates"
    log "making test certificates in $TLS_DIR"
    openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=inbox test CA" \
        -keyout "$TLS_DIR/ca.key" -out "$TLS_DIR/ca.pem" \
        -addext "basicConstraints=critical,CA:TRUE" \
        -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
    openssl req -newkey rsa:2048 -nodes -subj "/CN=localhost" \
        -keyout "$TLS_DIR/server.key" -out "$TLS_DIR/server.csr" 2>/dev/null
    printf '%s\n' "subjectAltName=DNS:localhost,IP:127.0.0.1" "basicConstraints=CA:FALSE" \
        "keyUsage=digitalSignature,keyEncipherment" "extendedKeyUsage=serverAuth" >"$TLS_DIR/server.ext"
    openssl x509 -req -days 3650 -in "$TLS_DIR/server.csr" -CA "$TLS_DIR/ca.pem" \
        -CAkey "$TLS_DIR/ca.key" -CAcreateserial -extfile "$TLS_DIR/server.ext" \
        -out "$TLS_DIR/server.pem" 2>/dev/null
fi
chmod 644 "$TLS_DIR/ca.pem" "$TLS_DIR/server.pem"
chmod 640 "$TLS_DIR/server.key"
chown root:postfix "$TLS_DIR/server.key" 2>/dev/null || true

# --- Dovecot ------------------------------------------------------------------

cat >"$STATE_DIR/dovecot/dovecot.conf" <<EOF
instance_name = dovecot-test-$IMAP_PORT
base_dir = $STATE_DIR/dovecot/run
state_dir = $STATE_DIR/dovecot/lib
log_path = $STATE_DIR/log/dovecot.log
protocols = imap lmtp
listen = 127.0.0.1
ssl = yes
ssl_cert = <$TLS_DIR/server.pem
ssl_key = <$TLS_DIR/server.key
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_failure_delay = 0
mail_location = maildir:~/Maildir
passdb {
  driver = static
  args = password=$PASSWORD
}
userdb {
  driver = static
  args = uid=nobody gid=nogroup home=$STATE_DIR/mail/%d/%n allow_all_users=yes
}
service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = $IMAP_PORT
  }
  inet_listener imaps {
    address = 127.0.0.1
    port = $IMAPS_PORT
  }
}
service lmtp {
  unix_listener lmtp {
    mode = 0666
  }
}
service auth {
  unix_listener auth-postfix {
    mode = 0666
  }
}
service anvil {
  unix_listener anvil-auth-penalty {
    mode = 0
  }
}
protocol imap {
  mail_max_userip_connections = 100
}
protocol lmtp {
  postmaster_address = postmaster@saintejulie.test
}
EOF

# --- Postfix ------------------------------------------------------------------

cat >"$STATE_DIR/postfix/conf/main.cf" <<EOF
compatibility_level = 3.6
queue_directory = $STATE_DIR/postfix/spool
data_directory = $STATE_DIR/postfix/data
maillog_file = $STATE_DIR/log/postfix.log
maillog_file_prefixes = $STATE_DIR
myhostname = mail.saintejulie.test
myorigin = saintejulie.test
mydestination =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
alias_maps =
alias_database =
biff = no
smtpd_peername_lookup = no
smtpd_error_sleep_time = 0s
message_size_limit = 52428800
mailbox_size_limit = 0
virtual_mailbox_domains = saintejulie.test, example.test
virtual_mailbox_maps = static:ok
virtual_transport = lmtp:unix:$STATE_DIR/dovecot/run/lmtp
smtpd_sasl_auth_enable = yes
smtpd_sasl_type = dovecot
smtpd_sasl_path = $STATE_DIR/dovecot/run/auth-postfix
smtpd_tls_security_level = may
smtpd_tls_cert_file = $TLS_DIR/server.pem
smtpd_tls_key_file = $TLS_DIR/server.key
smtpd_tls_auth_only = no
smtpd_relay_restrictions = permit_sasl_authenticated reject_unauth_destination
default_transport = error:external delivery disabled in tests
EOF

cat >"$STATE_DIR/postfix/conf/master.cf" <<EOF
127.0.0.1:$SMTP_PORT inet n - n - - smtpd
pickup    unix n - n 60    1 pickup
cleanup   unix n - n -     0 cleanup
qmgr      unix n - n 300   1 qmgr
rewrite   unix - - n -     - trivial-rewrite
bounce    unix - - n -     0 bounce
defer     unix - - n -     0 bounce
trace     unix - - n -     0 bounce
verify    unix - - n -     1 verify
flush     unix n - n 1000? 0 flush
proxymap  unix - - n -     - proxymap
showq     unix n - n -     - showq
error     unix - - n -     - error
retry     unix - - n -     - error
discard   unix - - n -     - discard
lmtp      unix - - n -     - lmtp
smtp      unix - - n -     - smtp
anvil     unix - - n -     1 anvil
scache    unix - - n -     1 scache
postlog   unix-dgram n - n - 1 postlogd
tlsmgr    unix - - n 1000? 1 tlsmgr
EOF

# --- start or reload ------------------------------------------------------------

if [[ "$DOVECOT_RUNNING" == yes ]]; then
    log "reloading dovecot in $STATE_DIR"
    dovecot -c "$STATE_DIR/dovecot/dovecot.conf" reload >&2
else
    # After kill -9 the old master may linger as a zombie under the same
    # PID, and Dovecot refuses to start while master.pid names it.
    rm -f "$STATE_DIR/dovecot/run/master.pid"
    log "starting dovecot in $STATE_DIR"
    dovecot -c "$STATE_DIR/dovecot/dovecot.conf" >&2
fi

if [[ "$POSTFIX_RUNNING" == yes ]]; then
    log "reloading postfix in $STATE_DIR"
    postfix -c "$STATE_DIR/postfix/conf" reload >&2 2>&1
else
    rm -f "$STATE_DIR/postfix/spool/pid/master.pid"
    log "starting postfix in $STATE_DIR"
    postfix -c "$STATE_DIR/postfix/conf" start >&2 2>&1 \
        || die "postfix did not start; see $STATE_DIR/log/postfix.log"
fi

echo "$STATE_DIR" >"$POINTER"

ready=no
for ((i = 0; i < READY_TIMEOUT_SECS * 10; i++)); do
    if port_open "$IMAP_PORT" && port_open "$IMAPS_PORT" && port_open "$SMTP_PORT"; then
        ready=yes
        break
    fi
    sleep 0.1
done
[[ "$ready" == yes ]] || die "servers not listening after ${READY_TIMEOUT_SECS}s; logs in $STATE_DIR/log"

log "ready: IMAP 127.0.0.1:$IMAP_PORT, IMAPS 127.0.0.1:$IMAPS_PORT, SMTP 127.0.0.1:$SMTP_PORT"
printf 'export INBOX_TEST_IMAP_PORT=%q\n' "$IMAP_PORT"
printf 'export INBOX_TEST_IMAPS_PORT=%q\n' "$IMAPS_PORT"
printf 'export INBOX_TEST_SMTP_PORT=%q\n' "$SMTP_PORT"
printf 'export INBOX_TEST_MAIL_STATE_DIR=%q\n' "$STATE_DIR"
printf 'export INBOX_TEST_MAIL_PASSWORD=%q\n' "$PASSWORD"
printf 'export INBOX_TEST_MAIL_CA_FILE=%q\n' "$TLS_DIR/ca.pem"
