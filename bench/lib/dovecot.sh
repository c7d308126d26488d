# Sourced by bench scripts: a throw-away Dovecot (Debian dovecot-imapd,
# dovecot-pop3d, dovecot-lmtpd) on loopback, the side-by-side anchor.
#
#   dovecot_start DIR IMAP_PORT LMTP_PORT USER...   (password of USER: USER-secret)
#   dovecot_stop DIR
#
# Mail is stored as Maildir under DIR/mail/USER, owned by the unprivileged
# `nobody` (Dovecot refuses mail access as root); Dovecot fsyncs deliveries
# (mail_fsync = optimized, its default), as kc does.

dovecot_start() {
  dir=$1; imap_port=$2; lmtp_port=$3; shift 3
  mkdir -p "$dir/mail" "$dir/run"
  : > "$dir/passwd"
  for u in "$@"; do
    echo "$u:{PLAIN}$u-secret::::::" >> "$dir/passwd"
    mkdir -p "$dir/mail/$u"
  done
  chown -R nobody:nogroup "$dir/mail"
  chmod 755 "$dir"
  cat > "$dir/dovecot.conf" <<CONF
protocols = imap lmtp
listen = 127.0.0.1
base_dir = $dir/run
state_dir = $dir/run
log_path = $dir/dovecot.log
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain
mail_location = maildir:$dir/mail/%u
mail_uid = nobody
mail_gid = nogroup
first_valid_uid = 1
default_login_user = dovenull
default_internal_user = dovecot
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%n $dir/passwd
}
userdb {
  driver = static
  args = uid=nobody gid=nogroup home=$dir/mail/%n
}
service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = $imap_port
  }
  inet_listener imaps {
    port = 0
  }
  process_min_avail = 2
  service_count = 0
}
service lmtp {
  inet_listener lmtp {
    address = 127.0.0.1
    port = $lmtp_port
  }
  unix_listener lmtp {
    mode = 0
  }
}
service imap {
  process_limit = 20000
}
service anvil {
  client_limit = 40000
}
protocol lmtp {
  auth_username_format = %n
}
protocol imap {
  mail_max_userip_connections = 100000
}
namespace inbox {
  inbox = yes
  separator = /
}
default_process_limit = 20000
default_client_limit = 40000
CONF
  dovecot -c "$dir/dovecot.conf"
  i=0
  while ! (exec 3<>"/dev/tcp/127.0.0.1/$imap_port") 2>/dev/null; do
    i=$((i+1)); [ $i -lt 100 ] || { echo "dovecot did not start: $(cat "$dir/dovecot.log")" >&2; return 1; }
    sleep 0.1
  done
}

dovecot_stop() {
  doveadm -c "$1/dovecot.conf" stop 2>/dev/null || true
}
