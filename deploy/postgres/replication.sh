#!/bin/sh
# Runs once when the primary's data folder is created (docker-entrypoint-initdb.d): lets the
# replica stream WAL with the same password as every other client.
set -e
echo "host replication all all scram-sha-256" >> "$PGDATA/pg_hba.conf"
