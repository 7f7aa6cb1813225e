# /etc/cron.d/pgsched: one pgsched-runner tick every minute.
#
# Inactive until the operator creates /etc/pgsched/runner.enabled, after
# setting PG_DSN_APP (the runner role's), the key paths and the pepper in
# /etc/pgsched/runner.env (see /usr/share/doc/pgsched/README.Debian).
# With systemd, `systemctl enable --now pgsched-runner.timer` is the
# alternative: use one of the two, not both.
#
# The runner claims due slots under PostgreSQL advisory locks, so this line
# may run on several hosts at once: they share the work and no slot runs
# twice.  PG_DSN_APP must be a direct or session-pooled connection.
SHELL=/bin/sh
PATH=/usr/bin:/bin
* * * * *	pgsched	[ -f /etc/pgsched/runner.enabled ] && [ -x /usr/bin/pgsched-runner ] && exec pgsched-runner --env-file /etc/pgsched/runner.env
