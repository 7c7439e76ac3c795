#!/bin/sh
# A dated backup of the QMS tracker (flask qms backup), older ones pruned.
# Run by cron as the qms user (deploy/cron/qms); docs/deploy.md, "Backups".
#   QMS_ENV_FILE         the settings the units read            /etc/qms/qms.env
#   QMS_BACKUP_DIR       where the backups go (not the instance) /var/backups/qms
#   QMS_BACKUP_KEEP_DAYS how long a backup is kept               30
set -eu
ENV_FILE=${QMS_ENV_FILE:-/etc/qms/qms.env}
APP_DIR=$(CDPATH= cd -- "$(dirname -- "$0")/.." && pwd)
set -a
. "$ENV_FILE"
set +a
DIR=${QMS_BACKUP_DIR:-/var/backups/qms}
KEEP=${QMS_BACKUP_KEEP_DAYS:-30}
# A backup carries the signing key: only its owner may read it.
umask 077
mkdir -p "$DIR"
FILE="$DIR/qms-$(date -u +%Y%m%dT%H%M%SZ).zip"
cd "$APP_DIR"
# (qms backup writes beside the file and renames it when complete: a run cut off never
# leaves what looks like a backup.)
.venv/bin/flask --app wsgi qms backup "$FILE"
find "$DIR" -maxdepth 1 -name 'qms-*.zip' -mtime +"$KEEP" -delete
