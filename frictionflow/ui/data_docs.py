"""Great Expectations Data Docs inside the Airflow UI, behind Airflow's own login.

Served by the API server as a plugin FastAPI app; every request must carry the UI's session (the JWT
cookie) or a bearer token, like Airflow's own API. Files are served only from the Data Docs folder.
"""

from __future__ import annotations

from pathlib import Path

from airflow.api_fastapi.core_api.security import get_user
from fastapi import Depends, FastAPI, HTTPException
from fastapi.responses import FileResponse

from frictionflow.settings import load_settings

URL_PREFIX = "/frictionflow"


def data_docs_root() -> Path:
    return load_settings().home / "gx" / "gx" / "uncommitted" / "data_docs" / "local_site"


app = FastAPI(title="frictionflow Data Docs")


@app.get("/data-docs/{path:path}", dependencies=[Depends(get_user)])
def data_docs(path: str) -> FileResponse:
    root = data_docs_root().resolve()
    target = (root / (path or "index.html")).resolve()
    if not target.is_relative_to(root):
        raise HTTPException(status_code=404, detail="not a Data Docs file")
    if not target.is_file():
        detail = (
            "no Data Docs yet: they are built by the nightly DAG's quality gates"
            if path in ("", "index.html")
            else "not found"
        )
        raise HTTPException(status_code=404, detail=detail)
    return FileResponse(target)
