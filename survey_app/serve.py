"""The app as served in production: ``python3 -m streamlit run survey_app/serve.py``.

The same pages as ``streamlit run survey_app/app.py`` (this module only wraps that script in
Streamlit's ASGI ``st.App``), without Streamlit's ``/_stcore/metrics`` endpoint: Streamlit 1.67
serves it to anyone and has no setting to turn it off (``server.*`` options in ``streamlit
config show``), and it tells an outsider how many sessions are open and how much the caches
hold. Every other route, the health check included, is Streamlit's own.
"""
from __future__ import annotations

from pathlib import Path

import streamlit as st
from starlette.middleware import Middleware
from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Receive, Scope, Send

__all__ = ["HIDDEN_PATHS", "HideRoutes", "app"]

#: Paths answered with 404 (also under a ``server.baseUrlPath`` prefix, with or without a final ``/``).
HIDDEN_PATHS = ("/_stcore/metrics",)


class HideRoutes:
    """ASGI middleware: 404 for :data:`HIDDEN_PATHS`, everything else passed on."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].rstrip("/").endswith(HIDDEN_PATHS):
            await PlainTextResponse("Not Found", status_code=404)(scope, receive, send)
            return
        await self.app(scope, receive, send)


# survey_app/app.py, the script `streamlit run survey_app/app.py` runs
app = st.App(Path(__file__).with_stem("app"), middleware=[Middleware(HideRoutes)])
