"""Adds 'Data Docs' (Great Expectations validation results) to the Airflow UI's Browse menu."""

from airflow.plugins_manager import AirflowPlugin

from frictionflow.ui.data_docs import URL_PREFIX, app


class FrictionflowDataDocsPlugin(AirflowPlugin):
    name = "frictionflow_data_docs"
    fastapi_apps = [{"app": app, "url_prefix": URL_PREFIX, "name": "frictionflow Data Docs"}]
    external_views = [
        {
            "name": "Data Docs",
            "href": f"{URL_PREFIX}/data-docs/index.html",
            "destination": "nav",
            "category": "browse",
            "url_route": "data-docs",
        }
    ]
