"""The sandbox company's contact-centre API as a local service, beside the embedded warehouse.

Started when the pipeline's contact-centre URL points at this machine (the default, `make run`, `make
airflow`, the tests) and nothing answers there yet; never when it points at a real system. It serves the
store the sandbox writes on each delivery and checks the same token the pipeline's connection carries.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from frictionflow.settings import Settings, contact_center_token

LOOPBACK = ("127.0.0.1", "localhost")


def _pid_file(settings: Settings):
    return settings.home / "contact_center_api.pid"


def sandbox_api_wanted(settings: Settings) -> bool:
    return urlsplit(settings.contact_center_url).hostname in LOOPBACK


def ensure_sandbox_api(settings: Settings) -> str | None:
    """Start the sandbox API unless it already answers; returns its URL (None for a real system)."""
    import httpx

    from frictionflow.sandbox.contact_center import default_store_dir
    from frictionflow.sandbox.contact_center_api import PATH, STORE_HEADER, start_api_server

    if not sandbox_api_wanted(settings):
        return None
    url = settings.contact_center_url.rstrip("/")
    store = default_store_dir(settings.landing_dir)
    try:
        answer = httpx.get(url + PATH, timeout=1.0)  # 401 without a token: something answers
    except httpx.TransportError:
        answer = None
    if answer is not None:
        serves = answer.headers.get(STORE_HEADER)
        if serves == str(store.resolve()):
            return url
        # Another landing folder's API (an earlier run with other settings) would serve the wrong company.
        if not stop_sandbox_api(settings):
            raise RuntimeError(
                f"contact centre: {url} answers but serves {serves or 'something that is not the sandbox'}, not "
                f"{store}; stop it or point FRICTIONFLOW_CCE_URL at a free port"
            )
    parts = urlsplit(url)
    store.mkdir(parents=True, exist_ok=True)
    settings.home.mkdir(parents=True, exist_ok=True)  # the log and pid files live there
    start_api_server(
        store,
        contact_center_token(settings),
        host=parts.hostname,
        port=parts.port or 80,
        log_file=settings.home / "contact_center_api.log",
        pid_file=_pid_file(settings),
    )
    return url


def stop_sandbox_api(settings: Settings) -> bool:
    from frictionflow.sandbox.contact_center_api import stop_api_server

    return stop_api_server(_pid_file(settings))
