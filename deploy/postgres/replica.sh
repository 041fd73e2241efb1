#!/bin/sh
# The streaming replica: on first start, copy the primary (pg_basebackup -R writes the
# standby settings), then run PostgreSQL as a hot standby.
set -e
if [ ! -s "$PGDATA/PG_VERSION" ]; then
  until pg_isready -h postgres -U postgres; do sleep 1; done
  pg_basebackup -h postgres -U postgres -D "$PGDATA" -R -X stream
  chmod 700 "$PGDATA"
fi
exec postgres -c hot_standby=on -c hot_standby_feedback=on -c max_connections=200
