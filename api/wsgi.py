"""The WSGI entry point for gunicorn: ``gunicorn -w 2 'api.wsgi:app'``.

Importing builds only the Flask app; each worker builds its own Framdrift
application (and connection pool) on first use, after the fork.
"""

from api.app import create_app

app = create_app()
