#!/usr/bin/env bash
# Writes .env at the repository root from deploy/.env.example, filling every empty secret with a
# random value. Refuses to overwrite an existing .env.   Usage: deploy/make-env.sh
set -euo pipefail
cd "$(dirname "$0")/.."
[[ ! -e .env ]] || { echo ".env exists; not overwriting it" >&2; exit 1; }

random_hex() { head -c 32 /dev/urandom | od -An -v -tx1 | tr -d ' \n'; }
fernet_key() { head -c 32 /dev/urandom | base64 | tr '+/' '-_'; }

umask 077
while IFS= read -r line || [[ -n "$line" ]]; do
    case "$line" in
        AIRFLOW_FERNET_KEY=) echo "AIRFLOW_FERNET_KEY=$(fernet_key)" ;;
        [A-Z]*=) echo "${line}$(random_hex)" ;;
        *) echo "$line" ;;
    esac
done < deploy/.env.example > .env
echo "wrote .env (mode 600): keep it out of git; ALERTS_WEBHOOK_URL is still a dev placeholder"
