"""Run Flower (the admin dashboard) with its Prometheus `/metrics` behind the same basic auth as its pages.

Flower 2.2 serves `/metrics` to anyone, even with `FLOWER_BASIC_AUTH` set: the task names, worker
names and counts it lists are the operator's business. This entry point wraps that one handler in
Tornado's `authenticated` (which asks Flower's own basic-auth check) and then runs `celery` as
`python -m celery` would. `questlog.stack.flower_argv` starts Flower through it.
"""

from __future__ import annotations

import sys


def protect_metrics() -> None:
    import tornado.web
    from flower.views import monitor

    if not getattr(monitor.Metrics.get, "_questlog_protected", False):
        guarded = tornado.web.authenticated(monitor.Metrics.get)
        guarded._questlog_protected = True
        monitor.Metrics.get = guarded


def main() -> None:
    protect_metrics()
    from celery.__main__ import main as celery_main

    sys.argv[0] = "celery"
    sys.exit(celery_main())


if __name__ == "__main__":
    main()
