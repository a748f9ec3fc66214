"""The research workbench behind `questlog web`: Starlette, Jinja2 templates and a little plain
JavaScript, served by uvicorn. Routes: docs/web.md.

    app.py          the factory: routes, middleware, error mapping
    auth.py         the password file, login, the session gate
    common.py       templates, CSRF checks, the ledger in a thread, error pages
    questions.py    the questions list; add, edit, park/answer/reopen, delete
    triage.py       a question's page: evidence cards, verdicts, notes
    cards.py        a link as a card; the evidence filters
    conclusions.py  versioned conclusions; citations.py renders their Markdown
    api.py          the JSON API
    pipeline.py     what a write tells the running stack
    server.py       uvicorn on a bound socket, loopback unless told otherwise
"""

from questlog.webapp.app import create_app

__all__ = ["create_app"]
