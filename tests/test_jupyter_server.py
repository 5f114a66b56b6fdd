"""The Docker image's Jupyter command, started here and driven as a real client.

No Docker engine runs in CI, so we run the image's own CMD (read from the
Dockerfile) from the project environment, on 127.0.0.1 with a random port and a
token, then use the REST API and the kernel protocol over a websocket to execute
a chapter, as JupyterLab would.
"""

from __future__ import annotations

import json
import os
import pathlib
import re
import secrets
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid

import nbformat
import pytest
import websocket

ROOT = pathlib.Path(__file__).resolve().parent.parent
DOCKERFILE = (ROOT / "Dockerfile").read_text()
CHAPTER = "chapters/03-cost-functions.ipynb"


def image_command() -> list[str]:
    return json.loads(re.search(r"^CMD (\[.*\])$", DOCKERFILE, re.MULTILINE).group(1))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_dockerfile_follows_the_course_rules():
    base = re.search(r"^FROM (\S+)", DOCKERFILE, re.MULTILINE).group(1)
    assert re.fullmatch(r"[\w./-]+:[\w.-]*20\d{6}[\w.-]*", base), f"base image {base} is not a dated tag"
    assert "download.pytorch.org/whl/cpu" in DOCKERFILE
    assert "requirements.txt" in DOCKERFILE
    assert re.search(r"^USER (?!root|0\b)", DOCKERFILE, re.MULTILINE)
    command = image_command()
    assert command[:2] == ["jupyter", "lab"]
    assert "--port=8888" in command
    assert not any("token=" in arg.lower() and arg.lower().endswith("=") for arg in command), "token disabled"
    assert "EXPOSE 8888" in DOCKERFILE


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    port, token = free_port(), secrets.token_hex(16)
    command = [
        arg.replace("--ip=0.0.0.0", "--ip=127.0.0.1")
        .replace("--port=8888", f"--port={port}")
        .replace("--ServerApp.root_dir=/home/learner/course", f"--ServerApp.root_dir={ROOT}")
        for arg in image_command()
    ]
    if os.geteuid() == 0:  # the image runs as an unprivileged user; CI machines may run tests as root
        command.append("--allow-root")
    bin_dir = pathlib.Path(sys.executable).parent
    env = {
        **os.environ,
        "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
        "JUPYTER_TOKEN": token,
        "JUPYTER_RUNTIME_DIR": str(tmp_path_factory.mktemp("runtime")),
    }
    log = open(tmp_path_factory.mktemp("log") / "jupyter.log", "w+")
    process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while True:
        try:
            urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=2)
            break
        except (urllib.error.URLError, ConnectionError):
            if process.poll() is not None or time.monotonic() > deadline:
                log.seek(0)
                process.kill()
                pytest.fail(f"Jupyter did not start:\n{log.read()}")
            time.sleep(0.5)
    yield base, token
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
    log.close()


def call(base, path, token=None, method="GET", body=None):
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"token {token}"
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(f"{base}{path}", data=data, headers=headers, method=method)
    with urllib.request.urlopen(request, timeout=30) as response:
        return response.status, json.loads(response.read() or b"null")


def test_requests_without_the_token_are_refused(server):
    base, _ = server
    for path in ("/api/contents", "/api/kernels", "/api/sessions"):
        with pytest.raises(urllib.error.HTTPError) as refused:
            call(base, path)
        assert refused.value.code == 403
    with pytest.raises(urllib.error.HTTPError) as wrong:
        call(base, "/api/contents", token="not-the-token")
    assert wrong.value.code == 403


def test_the_lab_and_the_chapters_are_served(server):
    base, token = server
    status, listing = call(base, "/api/contents/chapters", token)
    assert status == 200
    assert CHAPTER.split("/")[1] in {item["name"] for item in listing["content"]}
    request = urllib.request.Request(f"{base}/lab", headers={"Authorization": f"token {token}"})
    with urllib.request.urlopen(request, timeout=30) as response:
        assert response.status == 200
        assert "JupyterLab" in response.read().decode()


def run_cell(ws, session_id, code, timeout=300):
    msg_id = uuid.uuid4().hex
    ws.send(
        json.dumps(
            {
                "header": {
                    "msg_id": msg_id,
                    "msg_type": "execute_request",
                    "session": session_id,
                    "username": "test",
                    "version": "5.3",
                },
                "parent_header": {},
                "metadata": {},
                "content": {"code": code, "silent": False, "store_history": True, "allow_stdin": False},
                "channel": "shell",
            }
        )
    )
    # The reply comes on the shell channel and the outputs on IOPub, with no order
    # between the two: a cell is done when its reply has come and IOPub has said idle.
    outputs, reply, idle, deadline = [], None, False, time.monotonic() + timeout
    while time.monotonic() < deadline and (reply is None or not idle):
        frame = ws.recv()
        if isinstance(frame, bytes):  # a comm message carrying binary buffers (widget images)
            continue
        message = json.loads(frame)
        if message.get("parent_header", {}).get("msg_id") != msg_id:
            continue
        if message["msg_type"] in ("stream", "error", "execute_result"):
            outputs.append(message)
        if message["channel"] == "shell" and message["msg_type"] == "execute_reply":
            reply = message["content"]
        if message["msg_type"] == "status" and message["content"]["execution_state"] == "idle":
            idle = True
    if reply is None or not idle:
        raise TimeoutError(f"no reply and idle status for {code[:60]!r}")
    return reply, outputs


def test_a_chapter_runs_through_the_kernel_protocol(server):
    base, token = server
    _, session = call(
        base,
        "/api/sessions",
        token,
        "POST",
        {"path": CHAPTER, "type": "notebook", "name": CHAPTER, "kernel": {"name": "python3"}},
    )
    kernel_id = session["kernel"]["id"]
    ws = websocket.create_connection(
        f"ws://{base.removeprefix('http://')}/api/kernels/{kernel_id}/channels",
        header=[f"Authorization: token {token}"],
        timeout=300,
    )
    try:
        nb = nbformat.read(ROOT / CHAPTER, as_version=4)
        code_cells = [c for c in nb.cells if c.cell_type == "code"]
        explorers = 0
        for cell in code_cells:
            reply, outputs = run_cell(ws, uuid.uuid4().hex, cell.source)
            errors = [o["content"] for o in outputs if o["msg_type"] == "error"]
            assert reply["status"] == "ok", errors or reply
            if "explorer" in cell.metadata.get("tags", []):  # in JupyterLab the explorer is the live widget
                results = [o["content"]["data"] for o in outputs if o["msg_type"] == "execute_result"]
                assert any("application/vnd.jupyter.widget-view+json" in data for data in results), results
                assert not any("text/html" in data for data in results), results
                explorers += 1
        assert explorers == 1
        reply, outputs = run_cell(ws, uuid.uuid4().hex, "import lib, os; print(lib.__file__, os.getcwd())")
        printed = "".join(o["content"].get("text", "") for o in outputs if o["msg_type"] == "stream")
        assert str(ROOT / "lib") in printed
        assert printed.strip().endswith(str(ROOT / "chapters"))
    finally:
        ws.close()
        call(base, f"/api/sessions/{session['id']}", token, "DELETE")
    _, kernels = call(base, "/api/kernels", token)
    assert kernel_id not in {k["id"] for k in kernels}
