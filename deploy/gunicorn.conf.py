"""Gunicorn's settings for the QMS tracker, read by deploy/systemd/qms-web.service.

Everything that differs between installations comes from the environment (the unit's
EnvironmentFile, /etc/qms/qms.env), so that this one file serves every host and
deploy/ci-deploy.sh runs exactly what the unit runs.
"""

import os

instance = os.environ.get("QMS_INSTANCE") or os.path.join(os.getcwd(), "instance")

# nginx reaches gunicorn on a unix socket in the unit's RuntimeDirectory (/run/qms).
bind = [os.environ.get("QMS_BIND", "unix:/run/qms/gunicorn.sock")]
# The socket is made without rights for others (0770): the qms group, which holds nginx's
# user, may connect, nobody else. (Only the socket: the application's files keep the
# process's own umask.)
umask = 0o007

workers = int(os.environ.get("QMS_WEB_WORKERS", 2 * (os.cpu_count() or 1) + 1))
threads = int(os.environ.get("QMS_WEB_THREADS", 4))
# Rendering a long procedure to PDF can take a while; nginx waits as long (proxy_read_timeout).
timeout = int(os.environ.get("QMS_WEB_TIMEOUT", 120))
graceful_timeout = 30

# gunicorn's control socket (gunicornc) defaults to one path per user account,
# ~/.gunicorn/gunicorn.ctl: a second instance on the host would take it over and the
# first one's stop would delete it. Each instance keeps its own in its instance folder,
# or where QMS_CONTROL_SOCKET says: a host-local path when the instance folder is on
# storage several hosts share (a socket is one host's; docs/deploy.md, part 2).
control_socket = os.environ.get("QMS_CONTROL_SOCKET") or os.path.join(instance, "gunicorn.ctl")

# The application logs one line per request with its id (qms.logs): no second access log.
accesslog = None
errorlog = "-"
loglevel = os.environ.get("QMS_LOG_LEVEL", "info").lower()
proc_name = "qms-" + os.path.basename(os.path.normpath(instance))
