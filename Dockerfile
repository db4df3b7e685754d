# newsvigil image: the same `newsvigil` command for migrate, ingest, worker and serve.
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app
COPY pyproject.toml README.md ./
COPY newsvigil ./newsvigil
COPY ingest ./ingest
COPY processors ./processors
COPY storage ./storage
COPY migrations ./migrations
COPY web ./web
COPY seeds ./seeds
RUN pip install . && useradd --system --uid 10001 newsvigil
USER newsvigil
ENV NEWSVIGIL_FEEDS=/app/seeds/feeds.opml NEWSVIGIL_TOPICS=/app/seeds/topics.yaml
ENTRYPOINT ["newsvigil"]
CMD ["--help"]
