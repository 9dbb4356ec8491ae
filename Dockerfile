FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

RUN groupadd --system framdrift \
    && useradd --system --gid framdrift --home-dir /app --shell /usr/sbin/nologin framdrift

WORKDIR /app

COPY pyproject.toml ./
COPY domain ./domain
COPY api ./api
COPY projections ./projections
COPY deploy ./deploy
RUN pip install . && rm -rf build *.egg-info \
    && mkdir -p /app/data && chown framdrift:framdrift /app/data

USER framdrift

EXPOSE 8000

# Health checks are per service in docker-compose.yml (this image also runs the worker).
CMD ["gunicorn", "--config", "deploy/gunicorn.conf.py", "api.wsgi:app"]
