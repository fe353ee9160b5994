"""The inbox page (list + message view with clickable links) and a JSON API for scripts."""

from __future__ import annotations

from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup, escape
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from empora_notification.sink.store import URL_PATTERN, MailStore, StoredMessage


def linkify(text: str | None) -> Markup:
    """Escaped text with every http(s) URL turned into a link (the text part, as sent)."""
    if not text:
        return Markup("")
    pieces: list[str] = []
    last = 0
    for match in URL_PATTERN.finditer(text):
        pieces.append(str(escape(text[last : match.start()])))
        url = escape(match.group(0))
        pieces.append(f'<a href="{url}">{url}</a>')
        last = match.end()
    pieces.append(str(escape(text[last:])))
    return Markup("".join(pieces))  # noqa: S704 - every piece above is escaped


def html_frame(html: str | None) -> str:
    """The HTML part for a sandboxed iframe: links open in a new tab, scripts never run."""
    return '<base target="_blank">' + (html or "")


def create_web_app(store: MailStore, *, smtp_address: str = "") -> Starlette:
    """The sink's web app over a store."""
    env = Environment(
        loader=PackageLoader("empora_notification.sink", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
    )
    env.filters["linkify"] = linkify
    env.filters["html_frame"] = html_frame

    def page(template: str, status: int = 200, **context: Any) -> HTMLResponse:
        body = env.get_template(template).render(smtp_address=smtp_address, **context)
        return HTMLResponse(body, status_code=status)

    def find(request: Request) -> StoredMessage | None:
        return store.get(str(request.path_params["message_id"]))

    def messages_for(request: Request) -> list[StoredMessage]:
        to = request.query_params.get("to")
        return store.to(to) if to else store.all()

    async def inbox(request: Request) -> Response:
        return page("inbox.html", messages=messages_for(request))

    async def message_view(request: Request) -> Response:
        message = find(request)
        if message is None:
            return page("missing.html", status=404)
        return page("message.html", message=message)

    async def message_raw(request: Request) -> Response:
        message = find(request)
        if message is None:
            return Response("no such message\n", status_code=404, media_type="text/plain")
        return Response(message.raw, media_type="text/plain; charset=utf-8")

    async def api_list(request: Request) -> Response:
        if request.method == "DELETE":
            store.clear()
            return Response(status_code=204)
        return JSONResponse([m.summary() for m in messages_for(request)])

    async def api_detail(request: Request) -> Response:
        message = find(request)
        if message is None:
            return JSONResponse({"detail": "no such message"}, status_code=404)
        return JSONResponse(message.detail())

    return Starlette(
        routes=[
            Route("/", inbox),
            Route("/messages/{message_id}", message_view),
            Route("/messages/{message_id}/raw", message_raw),
            Route("/api/messages", api_list, methods=["GET", "DELETE"]),
            Route("/api/messages/{message_id}", api_detail),
        ]
    )
