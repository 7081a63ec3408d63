"""The request log, on both apps alike: one line per request, refused ones included, naming the route's
template and never what was sent; the request id the answer carries."""

from __future__ import annotations

import logging
import re

from core.ids import make_my_number

NUMBER = make_my_number(16180339887)
SPELLINGS = [NUMBER, f"{NUMBER[:4]}-{NUMBER[4:8]}-{NUMBER[8:]}", "".join(chr(ord(c) + 0xFEE0) for c in NUMBER)]


def test_the_request_log_names_the_route_not_what_was_sent(app, caplog):
    logger = f"onesource.{app.kind}.access"
    caplog.set_level(logging.INFO, logger=logger)
    route, template = ("/v1/persons/{}", "/v1/persons/{person_id}") if app.kind == "api" else ("/pair?l={}", "/pair")
    answers = [app.http.get(route.format(text), params={"q": text, "purpose": "jidou_teate"}) for text in SPELLINGS]
    answers.append(app.http.get(f"/nowhere/{NUMBER}%0d%0aGET%20/forged%20200"))
    answers.append(app.http.get(app.page, headers={"X-Filler": NUMBER * 2000}))  # refused by the guard
    lines = [r.getMessage() for r in caplog.records if r.name == logger]
    expected = [template] * len(SPELLINGS) + ["(unmatched)"] * 2  # the guard refuses before any route matches
    assert len(lines) == len(answers)
    for answer, line, named in zip(answers, lines, expected):
        assert line.startswith(f"GET {named} {answer.status_code} "), line
        assert line.endswith(f" {answer.headers['x-request-id']}"), line
    assert [a.status_code for a in answers[-2:]] == [404, 431]
    text = "\n".join(lines)
    assert "forged" not in text and all("\n" not in line and "\r" not in line for line in lines)
    assert NUMBER not in re.sub(r"\D", "", text)


def test_a_client_cut_off_before_any_answer_is_logged_as_gone_not_500(caplog):
    """``Transfer-Encoding: xchunked`` got the client a 400 from the server's parser while the request log said
    500: the app had been started on the head, then the connection was closed under it. A request that ends
    with the client gone and nothing answered is logged as gone."""
    import asyncio

    from web.requestlog import RequestLog

    async def app(scope, receive, send):
        assert (await receive())["type"] == "http.disconnect"

    async def receive():
        return {"type": "http.disconnect"}

    async def send(message):
        raise AssertionError("nothing is sent")

    logged = RequestLog(app, logger="onesource.test.access")
    with caplog.at_level(logging.INFO, logger="onesource.test.access"):
        asyncio.run(logged({"type": "http", "method": "POST", "path": "/x", "headers": []}, receive, send))
    line = caplog.records[-1].getMessage()
    assert " gone " in line and " 500 " not in line, line
