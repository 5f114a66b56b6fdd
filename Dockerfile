# JupyterLab with everything the course needs, for working through the chapters locally.
#   docker build -t optimization-for-ml .
#   docker run --rm -p 8888:8888 -e JUPYTER_TOKEN=choose-a-secret optimization-for-ml
# then open http://127.0.0.1:8888/lab?token=choose-a-secret
FROM debian:bookworm-20250929-slim

ENV DEBIAN_FRONTEND=noninteractive \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PATH=/opt/venv/bin:$PATH

# Reproducible without breaking on the next security update: the base image is pinned by
# its dated tag, and each package by the upstream version Debian keeps for all of bookworm's
# life (Python 3.11, the version the course is tested with; git 2.39; tini 0.19). Security
# updates only change the Debian revision after that prefix, so the wildcards still match once
# the archive has dropped the superseded build. ca-certificates is left unpinned on purpose:
# its version is the date of the CA list, and an old list is exactly what it must not keep.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends \
        python3=3.11.* python3-venv=3.11.* git=1:2.39.* tini=0.19.* ca-certificates \
    && rm -rf /var/lib/apt/lists/*

# The CPU build of torch (no CUDA packages), then the pinned requirements, every
# package they pull in held at its tested version by constraints.txt.
COPY requirements.txt constraints.txt /tmp/
RUN python3 -m venv /opt/venv \
    && pip install --index-url https://download.pytorch.org/whl/cpu torch==2.13.0 \
    && pip install -r /tmp/requirements.txt -c /tmp/constraints.txt \
    && pip check

RUN useradd --create-home --uid 1000 learner
WORKDIR /home/learner/course
COPY --chown=learner:learner . .
USER 1000:1000

EXPOSE 8888
# Token authentication stays on: pass JUPYTER_TOKEN, or read the token from the log.
ENTRYPOINT ["tini", "--"]
CMD ["jupyter", "lab", "--ip=0.0.0.0", "--port=8888", "--no-browser", "--ServerApp.root_dir=/home/learner/course"]
