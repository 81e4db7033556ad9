"""The finance review console under `/review/`: decide in the browser what the drift report only shows.

`mount(app, connector)` adds it to the gateway `qbo serve` serves. Pages are server-rendered (Jinja2,
no JavaScript); a reviewer signs in with a gateway API key and their name, and sees and decides the
entries of that key's tenants only (pipelines/store/review.py holds the queues and the decisions).
"""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response

from pipelines.runtime.connector import Connector
from service.review import actions, operator, views
from service.review.auth import Sessions
from service.review.console import Console, Problem, SignInRequired, console_of, current_session


def mount(app: FastAPI, connector: Connector) -> None:
    app.state.review_console = Console(connector, Sessions(connector.settings))
    app.add_exception_handler(Problem, _problem)  # type: ignore[arg-type]
    app.add_exception_handler(SignInRequired, _sign_in)  # type: ignore[arg-type]
    for module in (views, actions, operator):
        app.include_router(module.router)


async def _problem(request: Request, exc: Problem) -> Response:
    console = console_of(request)
    try:
        session = current_session(request)
    except SignInRequired:
        session = None
    return console.render(request, "problem.html", exc.status, session=session, problem=exc)


async def _sign_in(_request: Request, exc: SignInRequired) -> RedirectResponse:
    return RedirectResponse(f"/review/sign-in?{urlencode({'next': exc.next_url})}", status_code=303)
