# The service image. Build: docker build -t opioid-cds . ; the compose file adds PostgreSQL.
FROM python:3.11-slim
WORKDIR /app
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
COPY pyproject.toml README.md ./
COPY service ./service
COPY rules ./rules
COPY openapi ./openapi
RUN pip install --no-cache-dir .
RUN useradd --system --uid 10001 cds && mkdir -p /app/var && chown cds /app/var
# The storage spool (rows kept while the database is down, docs/storage.md) lives here.
ENV OPIOID_CDS_SPOOL_PATH=/app/var/storage-spool.jsonl
USER cds
EXPOSE 8000
# One worker process per core (docs/performance.md, Several workers). Each keeps its own
# in-memory state (the JWT replay cache; feedback until storage lands): see the trade-off there.
ENV OPIOID_CDS_WORKERS=2
HEALTHCHECK CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/cds-services')"
CMD ["python", "-m", "service", "serve", "--host", "0.0.0.0", "--port", "8000"]
