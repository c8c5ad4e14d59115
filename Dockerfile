# Workestra web, worker and beat: one image, the command picks the role (see docker-compose.yml).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    # Import the app from /app, not the installed copy, so BASE_DIR (templates/, var/) is /app.
    PYTHONPATH=/app \
    WORKESTRA_VAR_DIR=/app/var

WORKDIR /app
RUN useradd --system --uid 10001 --home-dir /app --shell /usr/sbin/nologin workestra

# The hash-locked runtime set first (its own layer, reused while the lock is unchanged), then the
# app itself without resolving anything again.
COPY requirements/prod.txt requirements/prod.txt
RUN pip install --require-hashes -r requirements/prod.txt
COPY . .
RUN pip install --no-deps . \
    # Production settings refuse to import without these; they only exist for this one command.
    && DJANGO_SETTINGS_MODULE=workestra.settings.production \
       DJANGO_SECRET_KEY=collectstatic-only TOKEN_ENCRYPTION_KEYS=collectstatic-only \
       PUBLIC_BASE_URL=https://collectstatic.invalid \
       python manage.py collectstatic --noinput \
    && mkdir -p /app/var \
    && chown -R workestra /app/var

USER workestra
EXPOSE 8000
CMD ["gunicorn", "workestra.wsgi:application", "--bind", "0.0.0.0:8000", "--access-logfile", "-"]
