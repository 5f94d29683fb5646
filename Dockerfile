# syntax=docker/dockerfile:1
# The taipod operator image: runs `python -m taipod.operator` as the non-root user 10001.
#
#   docker build -t ghcr.io/taipod/operator:0.1.0 .
#
# Built from the repository root (.dockerignore keeps the context to what the package needs). The entrypoint is the
# command the tests run for this image on the local test node (tests/cluster/images.yaml), so the tests exercise
# what the image runs.

# Python 3.11 on Debian bookworm, pinned by patch tag and by the digest of its multi-architecture index.
ARG PYTHON_IMAGE=python:3.11.14-slim-bookworm@sha256:65a93d69fa75478d554f4ad27c85c1e69fa184956261b4301ebaf6dbb0a3543d

# Build stage: taipod and its dependencies in a virtual environment, built from the sources.
FROM ${PYTHON_IMAGE} AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PYTHONDONTWRITEBYTECODE=1
WORKDIR /src
COPY pyproject.toml README.md ./
COPY operator/ operator/
RUN python -m venv /opt/taipod \
    && /opt/taipod/bin/pip install --no-cache-dir /src

# Final stage: the base image, an unprivileged user and the virtual environment; no compilers, no caches.
FROM ${PYTHON_IMAGE}
LABEL org.opencontainers.image.title="taipod operator" \
      org.opencontainers.image.description="Reconciles taipod.io Scenarios, Submissions and Jobs; runs each task as a batch/v1 Job." \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.version="0.1.0"
RUN groupadd --system --gid 10001 taipod \
    && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin taipod
COPY --from=build /opt/taipod /opt/taipod
ENV PATH=/opt/taipod/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1
USER 10001:10001
# kopf's liveness endpoint (the chart probes GET /healthz on it).
EXPOSE 8080
ENTRYPOINT ["python", "-m", "taipod.operator"]
