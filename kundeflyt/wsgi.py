import os
import sys

from django.core.wsgi import get_wsgi_application
from django.db import DatabaseError, connection

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kundeflyt.settings")
application = get_wsgi_application()

# Fail fast: a server whose database cannot be reached must not start and answer the login
# page as if all were well (a load balancer also asks /healthz).
try:
    connection.ensure_connection()
except DatabaseError as error:
    sys.stderr.write(f"Kundeflyt cannot reach its database (check DATABASE_URL): {error}\n")
    raise SystemExit(3) from error
finally:
    connection.close()
