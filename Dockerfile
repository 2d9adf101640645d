# One image for every leadstate service; compose picks the command (`leadstate ingest`, ...).
FROM python:3.11-slim
WORKDIR /app
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 LEADSTATE_ENV=production LEADSTATE_HOST=0.0.0.0
COPY pyproject.toml constraints.txt README.md ./
COPY services ./services
COPY migrations ./migrations
COPY alembic.ini ./
COPY policies ./policies
COPY contracts ./contracts
RUN pip install --no-cache-dir -c constraints.txt -e . \
    && useradd --system --uid 10001 leadstate
USER leadstate
EXPOSE 8000 8001 8002
ENTRYPOINT ["leadstate"]
CMD ["--help"]
