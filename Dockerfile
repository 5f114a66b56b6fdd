# JupyterLab with what the chapters run, for working through them locally.
#   docker build -t optimization-for-ml .
#   mkdir -p work
#   docker run --rm -p 8888:8888 -e JUPYTER_TOKEN=choose-a-secret \
#       -v "$PWD/work:/home/learner/course/work" optimization-for-ml
# then open http://127.0.0.1:8888/lab?token=choose-a-secret; notebooks saved under work/
# stay in ./work after the container stops (README.md, "Docker + JupyterLab").
FROM debian:bookworm-20250929-slim

ENV DEBIAN_FRONTEND=noninteractive \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PATH=/opt/venv/bin:$PATH

# Reproducible without breaking on the next security update: the base image is pinned by
# its dated tag, and each package by the upstream version Debian keeps for all of bookworm's
# life (Python 3.11, the version the course is tested with; tini 0.19). Security updates
# only change the Debian revision after that prefix, so the wildcards still match once the
# archive has dropped the superseded build. ca-certificates is left unpinned on purpose:
# its version is the date of the CA list, and an old list is exactly what it must not keep.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends \
        python3=3.11.* python3-venv=3.11.* tini=0.19.* ca-certificates \
    && apt-get clean \
    && rm -rf /var/lib/apt/lists/*

# Only what the chapters need to run in JupyterLab (requirements.txt): the book build,
# lint and test tools of requirements-dev.txt stay out. torch comes first, as the CPU
# build (no CUDA packages) and without its dependencies, so that those, like every other
# package, are installed at the version constraints.txt holds.
COPY requirements.txt constraints.txt /tmp/
RUN python3 -m venv /opt/venv \
    && pip install --no-deps --index-url https://download.pytorch.org/whl/cpu torch==2.13.0 \
    && pip install -r /tmp/requirements.txt -c /tmp/constraints.txt \
    && pip check

# The course folder and work/ belong to the learner, so that JupyterLab can create files in
# them, and a host folder mounted on work/ keeps what is saved there.
RUN useradd --create-home --uid 1000 learner \
    && install -d -o learner -g learner /home/learner/course /home/learner/course/work
WORKDIR /home/learner/course
COPY --chown=learner:learner . .
USER 1000:1000

EXPOSE 8888
# Token authentication stays on: pass JUPYTER_TOKEN, or read the token from the log.
ENTRYPOINT ["tini", "--"]
CMD ["jupyter", "lab", "--ip=0.0.0.0", "--port=8888", "--no-browser", "--ServerApp.root_dir=/home/learner/course"]
