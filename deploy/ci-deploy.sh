#!/usr/bin/env bash
# Follow docs/deploy.md on this machine, in a throw-away directory, and sign in through nginx.
#
# What the guide installs system-wide is made here under one temporary folder instead:
# the settings file (deploy/qms.env, with this machine's values), the instance, the
# PostgreSQL role and database (named $QMS_DEPLOY_DB, created and dropped here), gunicorn
# and the worker started by the ExecStart lines of deploy/systemd/*.service, nginx with
# deploy/nginx/qms.conf on free ports (its own nginx.conf and prefix: the system's nginx
# is never touched), a self-signed certificate, the git mirror, the cron job's backup and
# an upgrade's migrations. Then it signs in over HTTPS through nginx as a user it created,
# checks /healthz through nginx and tears everything down, whatever happened.
#
#   QMS_DEPLOY_PG   the PostgreSQL server, as a URL naming a database that exists
#                   (default postgresql://postgres@127.0.0.1:5432/postgres)
#   QMS_DEPLOY_DB   the database and role made for the run (default qms_deploy_<pid>)
#   QMS_DEPLOY_KEEP set to 1 to keep the folder (logs, configuration) for a look after
#
# Run as root (CI) or as any user who may reach PostgreSQL: nothing here needs root.
set -euo pipefail

APP_DIR=$(cd "$(dirname "$0")/.." && pwd)
PYTHON=$APP_DIR/.venv/bin/python
PG=${QMS_DEPLOY_PG:-postgresql://postgres@127.0.0.1:5432/postgres}
DB=${QMS_DEPLOY_DB:-qms_deploy_$$}
if [[ ! $DB =~ ^[a-z_][a-z0-9_]*$ ]] || [[ $DB == test || $DB == postgres ]]; then
  echo "QMS_DEPLOY_DB=$DB: give a database of the script's own (lower-case letters, digits, _)" >&2
  exit 2
fi
NGINX=$(command -v nginx || true)
if [ -z "$NGINX" ] && [ -x /usr/sbin/nginx ]; then NGINX=/usr/sbin/nginx; fi
if [ -z "$NGINX" ]; then
  echo "nginx is not installed (Debian: apt-get install nginx; .ci/packages lists it)" >&2
  exit 2
fi

WORK=$(mktemp -d /tmp/qms-deploy.XXXXXX)
PIDS=()
STARTED=$(date +%s)
step() { printf '[%3ss] %s\n' "$(($(date +%s) - STARTED))" "$*"; }

# psql-free: the application's own driver runs the SQL.
sql() {
  "$PYTHON" - "$PG" "$1" <<'PY'
import sys
import psycopg
with psycopg.connect(sys.argv[1], autocommit=True, connect_timeout=10) as conn:
    conn.execute(sys.argv[2])
PY
}

teardown() {
  status=$?
  set +e
  if [ -f "$WORK/nginx/nginx.pid" ]; then
    "$NGINX" -p "$WORK/nginx/" -c "$WORK/nginx/nginx.conf" -s quit 2>/dev/null
  fi
  # Only what this script started, by its id: gunicorn's master, then the worker.
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null; done
  for pid in "${PIDS[@]}"; do
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    kill -KILL "$pid" 2>/dev/null
  done
  sql "DROP DATABASE IF EXISTS \"$DB\" WITH (FORCE)" >/dev/null 2>&1
  sql "DROP ROLE IF EXISTS \"$DB\"" >/dev/null 2>&1
  if [ "$status" != 0 ]; then
    echo "--- FAILED; the logs:" >&2
    for log in "$WORK"/log/*.log "$WORK"/nginx/log/*.log; do
      [ -f "$log" ] && { echo "--- $log" >&2; tail -n 40 "$log" >&2; }
    done
  fi
  if [ "${QMS_DEPLOY_KEEP:-}" = 1 ]; then echo "Kept $WORK"; else rm -rf "$WORK"; fi
  exit "$status"
}
trap teardown EXIT
trap 'exit 130' INT TERM

free_port() {
  "$PYTHON" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# The ExecStart line of a unit, with the guide's /srv/qms/app read as this checkout.
exec_start() {
  sed -n 's/^ExecStart=//p' "$APP_DIR/deploy/systemd/$1" | sed "s|/srv/qms/app|$APP_DIR|g"
}

# Run a command as a unit does: in the checkout, a clean environment with only the
# settings file. (env and bash exec in turn: the pid started is the command's own.)
as_unit() {
  env -i PATH=/usr/local/bin:/usr/bin:/bin LANG=C.UTF-8 \
    bash -c 'set -a; . "$1"; set +a; shift; cd "$0"; exec "$@"' "$APP_DIR" "$ENV_FILE" "$@"
}
start_unit() {
  # shellcheck disable=SC2046  # the unit's command line, split into words as systemd does
  setsid env -i PATH=/usr/local/bin:/usr/bin:/bin LANG=C.UTF-8 \
    bash -c 'set -a; . "$1"; set +a; shift; cd "$0"; exec "$@"' "$APP_DIR" "$ENV_FILE" \
    $(exec_start "$1") >"$WORK/log/$2.log" 2>&1 &
}

mkdir -p "$WORK"/{etc,lib,run,log,ssl,backups,nginx/log,nginx/tmp}
HTTP_PORT=$(free_port)
HTTPS_PORT=$(free_port)
SITE="https://127.0.0.1:$HTTPS_PORT"

step "PostgreSQL: role and database $DB (docs/deploy.md, 'PostgreSQL')"
PASSWORD="pw-$("$PYTHON" -c 'import secrets; print(secrets.token_hex(12))')"
sql "DROP DATABASE IF EXISTS \"$DB\" WITH (FORCE)"
sql "DROP ROLE IF EXISTS \"$DB\""
sql "CREATE ROLE \"$DB\" LOGIN PASSWORD '$PASSWORD'"
sql "CREATE DATABASE \"$DB\" OWNER \"$DB\" ENCODING 'UTF8' TEMPLATE template0"
PG_HOSTPORT=$("$PYTHON" -c 'import sys; from urllib.parse import urlsplit; u = urlsplit(sys.argv[1]); print(f"{u.hostname}:{u.port or 5432}")' "$PG")

step "Settings: deploy/qms.env with this machine's values"
ENV_FILE=$WORK/etc/qms.env
git init -q --bare "$WORK/mirror.git"
declare -A SETTINGS=(
  [QMS_INSTANCE]="$WORK/lib"
  [QMS_DATABASE_URL]="postgresql+psycopg://$DB:$PASSWORD@$PG_HOSTPORT/$DB"
  [QMS_JOBS_URL]="postgresql://$DB:$PASSWORD@$PG_HOSTPORT/$DB"
  [QMS_DOCUMENTS_REPO]="$WORK/lib/documents.git"
  [QMS_MIRROR_URL]="$WORK/mirror.git"
  [QMS_BASE_URL]="$SITE"
  [QMS_BIND]="unix:$WORK/run/gunicorn.sock"
  # No mail server here: without a host the application logs what it would have sent.
  [QMS_SMTP_HOST]=""
  [QMS_SMTP_USER]=""
  [QMS_SMTP_PASSWORD]=""
  [QMS_MAIL_FROM]="qms@localhost"
  [GIT_SSH_COMMAND]="ssh -o BatchMode=yes"
  [HOME]="$WORK/lib"
)
while IFS= read -r line; do
  key=${line%%=*}
  if [[ $line =~ ^[A-Z_]+= ]] && [[ -v SETTINGS[$key] ]]; then
    printf '%s="%s"\n' "$key" "${SETTINGS[$key]}"
  else
    printf '%s\n' "$line"
  fi
done <"$APP_DIR/deploy/qms.env" >"$ENV_FILE"
# Two web workers are plenty for one sign-in.
echo 'QMS_WEB_WORKERS=2' >>"$ENV_FILE"
if grep -nE '/var/lib/qms|/run/qms|example\.org|CHANGE-ME' "$ENV_FILE"; then
  echo "deploy/qms.env has a setting this script does not fill (above)" >&2
  exit 1
fi

step "Instance: flask qms init, and a first user"
as_unit .venv/bin/flask --app wsgi qms init >"$WORK/log/init.log" 2>&1
USER_PASSWORD="ci-$("$PYTHON" -c 'import secrets; print(secrets.token_urlsafe(18))')"
printf '%s\n' "$USER_PASSWORD" |
  as_unit .venv/bin/flask --app wsgi qms create-user ci-admin --role admin --role approver \
    --department "Quality Office" --name "CI Admin" >>"$WORK/log/init.log" 2>&1

step "Job worker: deploy/systemd/qms-worker.service"
start_unit qms-worker.service worker
PIDS+=($!)

step "Web server: deploy/systemd/qms-web.service (gunicorn, deploy/gunicorn.conf.py)"
start_unit qms-web.service web
WEB_PID=$!
PIDS=("$WEB_PID" "${PIDS[@]}")

step "nginx: deploy/nginx/qms.conf on ports $HTTP_PORT and $HTTPS_PORT, with a self-signed certificate"
openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj "/CN=127.0.0.1" \
  -keyout "$WORK/ssl/qms.key" -out "$WORK/ssl/qms.pem" 2>/dev/null
sed -e "s|unix:/run/qms/gunicorn.sock|unix:$WORK/run/gunicorn.sock|" \
  -e "s|listen 80;|listen 127.0.0.1:$HTTP_PORT;|" \
  -e "s|listen 443 ssl http2;|listen 127.0.0.1:$HTTPS_PORT ssl http2;|" \
  -e '/listen \[::\]/d' \
  -e "s|return 301 https://\$host\$request_uri;|return 301 https://\$host:$HTTPS_PORT\$request_uri;|" \
  -e "s|/etc/ssl/certs/qms.example.org.pem|$WORK/ssl/qms.pem|" \
  -e "s|/etc/ssl/private/qms.example.org.key|$WORK/ssl/qms.key|" \
  -e "s|/var/log/nginx/|$WORK/nginx/log/|g" \
  -e "s|/srv/qms/app|$APP_DIR|g" \
  "$APP_DIR/deploy/nginx/qms.conf" >"$WORK/nginx/qms.conf"
if grep -nE '/run/qms|/var/log|/etc/ssl|/srv/qms|listen (80|443)' "$WORK/nginx/qms.conf"; then
  echo "deploy/nginx/qms.conf has a path or port this script does not fill (above)" >&2
  exit 1
fi
# What Debian's /etc/nginx/nginx.conf gives the site, in a file of this run's own. As
# root, nginx's workers would be nobody, who may not enter this folder: they run as us.
NGINX_USER=""
if [ "$(id -u)" = 0 ]; then NGINX_USER="user $(id -un) $(id -gn);"; fi
cat >"$WORK/nginx/nginx.conf" <<EOF
$NGINX_USER
worker_processes 1;
pid $WORK/nginx/nginx.pid;
error_log $WORK/nginx/log/error.log;
events { worker_connections 64; }
http {
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    sendfile on;
    access_log $WORK/nginx/log/access.log;
    client_body_temp_path $WORK/nginx/tmp/body;
    proxy_temp_path $WORK/nginx/tmp/proxy;
    fastcgi_temp_path $WORK/nginx/tmp/fastcgi;
    uwsgi_temp_path $WORK/nginx/tmp/uwsgi;
    scgi_temp_path $WORK/nginx/tmp/scgi;
    include $WORK/nginx/qms.conf;
}
EOF
"$NGINX" -q -t -p "$WORK/nginx/" -c "$WORK/nginx/nginx.conf"
"$NGINX" -p "$WORK/nginx/" -c "$WORK/nginx/nginx.conf"

step "Waiting for /healthz through nginx to answer 200 (database, repository, worker)"
"$PYTHON" - "$SITE" <<'PY'
import json, ssl, sys, time, urllib.error, urllib.request
insecure = ssl._create_unverified_context()  # the certificate made above
deadline, last = time.monotonic() + 90, None
while time.monotonic() < deadline:
    try:
        with urllib.request.urlopen(sys.argv[1] + "/healthz", context=insecure, timeout=5) as r:
            print("    /healthz", r.status, r.read().decode())
            sys.exit(0)
    except urllib.error.HTTPError as exc:  # 503 while the worker starts; 502 before gunicorn
        last = f"{exc.code} {exc.read().decode()[:300]}"
    except OSError as exc:
        last = str(exc)
    time.sleep(0.5)
sys.exit(f"/healthz never answered 200; last: {last}")
PY

step "Control socket: this instance's own ($WORK/lib/gunicorn.ctl)"
test -S "$WORK/lib/gunicorn.ctl"
"$APP_DIR/.venv/bin/gunicornc" -s "$WORK/lib/gunicorn.ctl" -c "show workers" >/dev/null
# and the socket nginx connects to is its group's, not everyone's (umask in gunicorn.conf.py).
mode=$(stat -c %a "$WORK/run/gunicorn.sock")
[ "$mode" = 770 ] || { echo "gunicorn.sock has mode $mode, not 770" >&2; exit 1; }

step "Signing in through nginx as ci-admin"
"$PYTHON" - "$SITE" "$USER_PASSWORD" "$HTTP_PORT" "$APP_DIR" "$WORK" <<'PY'
import http.cookiejar, re, ssl, sys, time, urllib.error, urllib.parse, urllib.request
from pathlib import Path

site, password, http_port, app_dir, work = sys.argv[1:]
insecure = ssl._create_unverified_context()
jar = http.cookiejar.CookieJar()
opener = urllib.request.build_opener(
    urllib.request.HTTPSHandler(context=insecure), urllib.request.HTTPCookieProcessor(jar)
)

page = opener.open(site + "/auth/login", timeout=10)
html = page.read().decode()
token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html) or re.search(
    r'name="csrf_token"[^>]*value="([^"]+)"', html
)
assert token, "no CSRF token on the sign-in page"
form = urllib.parse.urlencode(
    {"csrf_token": token.group(1), "username": "ci-admin", "password": password}
).encode()
# As a browser sends it: Flask-WTF checks the Referer of a form sent over HTTPS.
request = urllib.request.Request(
    site + "/auth/login", data=form, headers={"Referer": site + "/auth/login"}
)
home = opener.open(request, timeout=30)
body = home.read().decode()
assert home.url.rstrip("/") == site, f"signed in, but landed on {home.url}"
assert home.status == 200, home.status
assert "CI Admin" in body or "ci-admin" in body, "the home page does not name the user"
assert all(c.secure for c in jar if c.name == "session"), "the session cookie is not Secure"
rid = home.headers["X-Request-ID"]
assert re.fullmatch(r"[0-9a-f]{32}", rid), f"no request id from nginx: {rid!r}"
print(f"    signed in; home page {home.status}, request id {rid}")

# The same id in nginx's log and in the application's, which names the user. Both write
# their line once the response is out, so it may arrive a moment after the page.
def logged(path):
    for _ in range(50):
        found = [l for l in Path(work, path).read_text().splitlines() if f"rid={rid}" in l]
        if found:
            return found[0]
        time.sleep(0.2)
    return None


assert logged("nginx/log/qms.access.log"), "nginx's access log lacks the request id"
line = logged("log/web.log")
assert line and "user=ci-admin" in line and "method=GET path=/ status=200" in line, line
print("    logged:", line.split("qms.requests: ", 1)[-1])

# The files come from nginx (no X-Request-ID: the application never saw the request).
css = next(Path(app_dir, "qms/static").rglob("*.css")).relative_to(Path(app_dir, "qms"))
static = opener.open(f"{site}/{css.as_posix()}", timeout=10)
assert static.status == 200 and "X-Request-ID" not in static.headers, "static not from nginx"

# Plain HTTP is sent to HTTPS.
class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args):
        return None
try:
    urllib.request.build_opener(NoRedirect).open(f"http://127.0.0.1:{http_port}/", timeout=10)
    raise AssertionError("plain HTTP was served")
except urllib.error.HTTPError as exc:
    assert exc.code == 301 and exc.headers["Location"].startswith("https://"), exc.headers
print("    static files from nginx; plain HTTP redirected to HTTPS")
PY

step "Mirror: flask qms mirror-push to the git remote"
# The command queues a push and makes it; the worker may claim that push first (then
# the command says so and the worker pushes): either way main reaches the mirror.
as_unit .venv/bin/flask --app wsgi qms mirror-push >"$WORK/log/mirror.log" 2>&1 || true
for _ in $(seq 1 60); do
  git --git-dir="$WORK/mirror.git" rev-parse --verify -q refs/heads/main >/dev/null && break
  sleep 0.5
done
git --git-dir="$WORK/mirror.git" rev-parse --verify -q refs/heads/main >/dev/null

step "Backup: the cron job's command (deploy/cron/qms)"
BACKUP_CMD=$(grep -E '^[0-9*]' "$APP_DIR/deploy/cron/qms" | awk '{print $7}' | sed "s|/srv/qms/app|$APP_DIR|")
env -i PATH=/usr/bin:/bin QMS_ENV_FILE="$ENV_FILE" QMS_BACKUP_DIR="$WORK/backups" "$BACKUP_CMD" \
  >"$WORK/log/backup.log" 2>&1
backup=$(ls "$WORK"/backups/qms-*.zip)
"$PYTHON" -c 'import sys, zipfile; names = zipfile.ZipFile(sys.argv[1]).namelist(); assert {"manifest.json", "database.json", "documents.bundle"} <= set(names), names' "$backup"
echo "    $backup"

step "Upgrade: migrations to the heads, the consistency check, gunicorn reloaded (HUP)"
as_unit .venv/bin/flask --app wsgi db upgrade heads >"$WORK/log/upgrade.log" 2>&1
as_unit .venv/bin/flask --app wsgi qms check >>"$WORK/log/upgrade.log" 2>&1
kill -HUP "$WEB_PID"
sleep 2
"$PYTHON" - "$SITE" <<'PY'
import ssl, sys, time, urllib.error, urllib.request
insecure = ssl._create_unverified_context()
for _ in range(60):
    try:
        with urllib.request.urlopen(sys.argv[1] + "/healthz", context=insecure, timeout=5) as r:
            sys.exit(0 if r.status == 200 else 1)
    except (urllib.error.URLError, OSError):
        time.sleep(0.5)
sys.exit("/healthz did not come back after the reload")
PY

step "Deployed, signed in through nginx and healthy; tearing down"
