# auditor as a container: the wheel on a slim Python base, run as a non-root user.
#   docker build -t auditor:0.2.0 .
#   docker run --rm -v "$PWD/config.yaml:/etc/auditor/config.yaml:ro" auditor:0.2.0 --config /etc/auditor/config.yaml rules list
# deploy/kubernetes/ references this image by the local tag auditor:0.2.0.
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY auditor ./auditor
RUN pip install --no-cache-dir build==1.2.2 && python -m build --wheel --outdir /dist

FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
RUN useradd --create-home --uid 10001 --home-dir /var/lib/auditor auditor
COPY --from=build /dist/*.whl /tmp/
# [distributed]: the Celery executor, for `auditor worker` and a Celery coordinator (deploy/kubernetes/distributed.yaml).
# The wheel just built, found in /tmp; its version is auditor.__version__ (tests/test_packaging.py keeps them equal).
RUN pip install --no-cache-dir --find-links /tmp "auditor[distributed]==0.2.0" && rm /tmp/*.whl
USER 10001
WORKDIR /var/lib/auditor
ENTRYPOINT ["auditor"]
CMD ["--help"]
