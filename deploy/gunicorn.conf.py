"""Gunicorn settings for the web service (docker-compose.yml runs
``gunicorn --config deploy/gunicorn.conf.py api.wsgi:app``; options on the command line win).

The web service sits behind nginx (deploy/nginx.conf), which reads slow requests and writes
slow responses itself, so a worker only ever talks to nginx. Threaded workers (gthread) add a
second line of defence: one stuck connection holds one thread, not a whole worker.
"""

import logging
import os

bind = os.environ.get("FRAMDRIFT_BIND", "0.0.0.0:8000")
# Two workers of 16 threads (benchmarks/gunicorn_load.py, docs/performance.md): the threads
# of one worker share its aggregate cache and its group commit (concurrent form posts go
# to PostgreSQL in one transaction), so on two cores 2 x 16 answered two to three times the
# form posts of 3 x 4, with a lower p99. Two, not one: a worker that dies or restarts
# leaves the other answering.
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
worker_class = "gthread"
threads = int(os.environ.get("FRAMDRIFT_THREADS", "16"))
# each worker builds its application (and connection pool) after the fork; never --preload
preload_app = False
timeout = 30  # a worker silent this long is restarted
graceful_timeout = 20
keepalive = 5  # nginx keeps idle connections to gunicorn open (upstream keepalive)

# The access log goes to stdout, every line through api.logredact: a participant's
# sign-in link (/in/<secret>) never appears in it.
accesslog = "-"
errorlog = "-"
loglevel = "info"
logger_class = "api.logredact.GunicornLogger"
access_log_format = '%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s" %(L)ss'

# Requests are bounded (nginx bounds them first): request line, header count and size.
limit_request_line = 8190
limit_request_fields = 100
limit_request_field_size = 8190


def on_starting(server):  # noqa: ANN001, ANN201 - gunicorn's hook signature
    storage = os.environ.get("FRAMDRIFT_RATELIMIT_STORAGE_URL", "")
    if server.cfg.workers > 1 and not storage:
        logging.getLogger("gunicorn.error").warning(
            "FRAMDRIFT_RATELIMIT_STORAGE_URL is not set: each of the %s workers counts "
            "sign-in attempts on its own, so the limit is %s times the documented rate; "
            "set it to a Redis URL", server.cfg.workers, server.cfg.workers)
