#!/usr/bin/env bash
# Build step: `dbt parse` writes dbt_project/target/manifest.json, which cosmos loads
# (LoadMode.DBT_MANIFEST) so that DAG parsing never runs dbt. Parsing needs a profile but never
# connects: the project's own profiles.yml (env_var defaults, as `make` parses it) or, without one,
# a throwaway credential-less profile. At run time cosmos builds the real profile from the
# `warehouse` Airflow connection.
set -euo pipefail
project_dir=${1:?usage: dbt-parse.sh DBT_PROJECT_DIR}
[[ -f "$project_dir/dbt_project.yml" ]] || { echo "no $project_dir/dbt_project.yml: cannot build the manifest" >&2; exit 1; }

profiles_dir=$(mktemp -d)
if [[ -f "$project_dir/profiles.yml" ]]; then
    cp "$project_dir/profiles.yml" "$profiles_dir/"
else
    profile=$(python -c "import sys, yaml; print(yaml.safe_load(open(sys.argv[1]))['profile'])" "$project_dir/dbt_project.yml")
    cat > "$profiles_dir/profiles.yml" <<YAML
$profile:
  target: build
  outputs:
    build:
      type: postgres
      host: build.invalid
      port: 5432
      user: build
      password: ""
      dbname: frictionflow
      schema: public
      threads: 1
YAML
fi

cd "$project_dir"
if [[ -f packages.yml || -f dependencies.yml ]]; then
    dbt deps --profiles-dir "$profiles_dir"
fi
dbt parse --profiles-dir "$profiles_dir"
rm -rf "$profiles_dir" logs
test -s target/manifest.json
echo "manifest: $project_dir/target/manifest.json"
