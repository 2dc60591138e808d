#!/usr/bin/env bash
# One database and one role per Guichet service, for docker-compose.yml.
#
# The postgres image runs the scripts of /docker-entrypoint-initdb.d/ once, when
# it initialises an EMPTY data volume; later starts skip them (to start over:
# `docker compose down --volumes`). For each service it creates the role
# guichet_<service>, with the password of GUICHET_<SERVICE>_DB_PASSWORD, and
# the database guichet_<service> owned by that role. No other role may connect
# to it: a service never reads another service's tables.
set -euo pipefail

SERVICES="${GUICHET_SERVICES:-accounts demarches billing activities notifications}"

for service in ${SERVICES}; do
    variable="GUICHET_${service^^}_DB_PASSWORD"
    password="${!variable:-}"
    if [ -z "${password}" ]; then
        echo "init-databases: ${variable} is not set" >&2
        exit 1
    fi
    # psql quotes :"name" as an identifier and :'value' as a literal.
    psql --no-psqlrc --set ON_ERROR_STOP=1 --username "${POSTGRES_USER:-postgres}" \
         --dbname "${POSTGRES_DB:-postgres}" \
         --set name="guichet_${service}" --set password="${password}" <<'SQL'
CREATE ROLE :"name" LOGIN PASSWORD :'password';
CREATE DATABASE :"name" OWNER :"name" ENCODING 'UTF8' TEMPLATE template0;
REVOKE ALL ON DATABASE :"name" FROM PUBLIC;
SQL
    echo "init-databases: database and role guichet_${service} created"
done
