"""gunicorn's settings for ``make serve`` (``gunicorn -c gunicorn_conf.py``); the command line
overrides them. The benches start gunicorn with settings of their own.

Measured with ``bench/open_loop.py`` on 2 cores (bench/README.md): the agent's requests are
CPU in Python, so two processes per core keep the cores busy, and a second thread per worker
did not pay (no more saves, and no shorter waits for the lease renewals). ``THREADS`` above
1 runs gunicorn's threaded worker.
"""

import multiprocessing
import os

bind = f"{os.environ.get('HOST', '127.0.0.1')}:{os.environ.get('PORT', '8000')}"
workers = int(os.environ.get("WORKERS", 2 * multiprocessing.cpu_count()))
threads = int(os.environ.get("THREADS", "1"))
timeout = 30
graceful_timeout = 30
keepalive = 5  # behind a proxy that keeps connections open
# A worker is replaced now and then, so that memory stays bounded; the jitter keeps them from
# being replaced all at once.
max_requests = 20_000
max_requests_jitter = 2_000

# The path only (%(U)s), never the query string: searches and filters carry names, numbers
# and e-mail addresses.
accesslog = "-"
access_log_format = '%(h)s %(t)s "%(m)s %(U)s" %(s)s %(b)s %(M)sms'
