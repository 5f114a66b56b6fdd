"""The site's explorers as the build's kernels draw them (_ext/site_kernel.py), and the profile that loads it."""

from __future__ import annotations

import html
import json
import re

import matplotlib
import numpy as np
import pytest
from PIL import Image

from lib import plots
from lib.explorers import Choice, Slider, explorer, stops

site_kernel = pytest.importorskip("site_kernel")  # _ext is on the tests' path (pyproject.toml)

pytestmark = pytest.mark.build


def site_data(markup: str) -> dict:
    return json.loads(html.unescape(re.search(r'data-explorer="([^"]*)"', markup)[1]))


def test_every_setting_is_drawn_in_advance_as_a_file(line, tmp_path):
    shown = explorer(
        line,
        figsize=(3, 2),
        slope=Slider("slope", stops(-1.0, 1.0, 0.5), 0.5),
        kind=Choice("kind", ("line", "dots"), "dots"),
    )
    markup = site_kernel.site_html(shown, tmp_path, "..")
    data = site_data(markup)
    assert [c["name"] for c in data["controls"]] == ["slope", "kind"]
    assert data["controls"][0]["texts"] == ["-1.00", "-0.50", "0.00", "0.50", "1.00"]
    assert len(data["frames"]) == len(data["values"]) == 10
    for k, slope in enumerate(s for s in (-1.0, -0.5, 0.0, 0.5, 1.0) for _ in ("line", "dots")):
        assert data["values"][k] == pytest.approx({"value at 1": slope + 1.0, "mean": slope / 2 + 1.0}), k
        assert data["frames"][k].startswith("../_images/explorers/")
    assert len(set(data["frames"])) == 10  # every setting draws a different figure
    for url in data["frames"]:
        with Image.open(tmp_path / url.rsplit("/", 1)[1]) as image:
            assert image.format == "WEBP"
            assert image.size == (240, 160)  # 3 x 2 inches at 80 dpi
    assert "data:image" not in markup
    start = int(re.search(r'data-frame="(\d+)"', markup)[1])
    assert start == 3 * 2 + 1  # slope 0.5, kind "dots"
    assert json.loads(html.unescape(re.search(r'data-values="([^"]*)"', markup)[1])) == data["values"][start]
    assert f'<img src="{data["frames"][start]}" width="240" height="160"' in markup
    assert 'loading="lazy" decoding="async"' in markup
    assert len(re.findall(r'<input id="explorer-\w+-0" type="range" min="0" max="4" step="1" value="3"', markup)) == 1
    assert '<option value="1" selected>dots</option>' in markup
    for ident in re.findall(r'id="([^"]+)"', markup):  # each control has its label
        assert f'<label for="{ident}">' in markup


def test_prepare_is_given_every_setting_before_any_is_drawn(line, tmp_path):
    events = []

    def prepare(settings):
        events.append(("prepare", [dict(s) for s in settings]))

    def draw(fig, slope, kind):
        events.append(("draw", slope, kind))
        return line(fig, slope, kind=kind)

    shown = explorer(
        draw,
        prepare=prepare,
        figsize=(3, 2),
        slope=Slider("slope", stops(-1.0, 1.0, 0.5), 0.5),
        kind=Choice("kind", ("line", "dots"), "dots"),
    )
    assert events == [("draw", 0.5, "dots")]  # a kernel draws its setting alone, unprepared
    events.clear()
    site_kernel.drawn(shown, tmp_path)
    assert events[0] == ("prepare", shown.combinations())
    assert [e[0] for e in events[1:]] == ["draw"] * 10
    events.clear()
    site_kernel.drawn(shown, tmp_path)  # drawn before: neither prepared nor drawn again
    assert events == []
    with pytest.raises(TypeError, match="prepare"):
        explorer(draw, prepare="races", slope=Slider("slope", (0.0, 1.0), 0.0))


def test_a_figure_drawn_twice_is_one_file(tmp_path):
    def flat(fig, a):
        fig.subplots().plot([0, 1], [0, 0])  # the same picture whatever a is

    data = site_data(site_kernel.site_html(explorer(flat, a=Slider("a", (0.0, 1.0, 2.0), 0.0)), tmp_path, "."))
    assert len(set(data["frames"])) == 1
    assert len(list(tmp_path.glob("*.webp"))) == 1


def test_a_setting_that_fails_fails_the_drawing(tmp_path):
    def fragile(fig, a):
        if a > 0.5:
            raise FloatingPointError("the run blew up")
        fig.subplots().plot([0, 1], [0, a])

    shown = explorer(fragile, a=Slider("a", (0.0, 1.0), 0.0))  # in a kernel only the setting on show is drawn
    with pytest.raises(FloatingPointError, match="blew up"):
        site_kernel.site_html(shown, tmp_path, ".")


def test_too_many_settings_for_the_site_are_refused(tmp_path):
    many = Slider("a", tuple(float(k) for k in range(21)), 0.0)
    shown = explorer(lambda fig, a, b: None, a=many, b=many)
    with pytest.raises(ValueError, match="441 figures for this explorer, more than 400"):
        site_kernel.site_html(shown, tmp_path, ".")
    assert not list(tmp_path.iterdir())


def test_a_pad_maps_its_axes_to_the_picture(line, tmp_path):
    shown = explorer(
        line,
        figsize=(3, 2),
        pad=("slope", "intercept"),
        slope=Slider("slope", stops(-1.0, 1.0, 0.5), 0.5),
        intercept=Slider("intercept", (0.1, 1.0, 10.0), 1.0, log=True),
    )
    markup = site_kernel.site_html(shown, tmp_path, ".")
    data = site_data(markup)
    box = data["pad"]["box"]
    assert "data-pad" in markup
    assert 0 < box["left"] < box["right"] < 1
    assert 0 < box["top"] < box["bottom"] < 1
    assert box["xlim"] == [-1.0, 2.0]
    assert box["ylim"] == [-4.0, 4.0]
    # the axes' edges, found independently in the picture: the frame of the axes is drawn in black
    start = data["frames"][int(re.search(r'data-frame="(\d+)"', markup)[1])]
    image = np.asarray(Image.open(tmp_path / start.rsplit("/", 1)[1]).convert("L"))
    height, width = image.shape
    row = round((box["top"] + box["bottom"]) / 2 * height)
    dark = np.flatnonzero(image[row] < 80)
    for edge in (box["left"], box["right"]):
        assert np.abs(dark - edge * width).min() <= 1.5, (edge * width, dark)
    column = round((box["left"] + box["right"]) / 2 * width)
    dark = np.flatnonzero(image[:, column] < 80)
    for edge in (box["top"], box["bottom"]):
        assert np.abs(dark - edge * height).min() <= 1.5, (edge * height, dark)


def test_without_a_layout_engine_the_drawing_sets_the_margins(line, tmp_path):
    def margins(fig, slope, intercept=1.0):
        fig.subplots_adjust(left=0.25, right=0.9, top=0.8, bottom=0.3)
        return line(fig, slope, intercept)

    common = {"figsize": (3, 2), "pad": ("slope", "intercept")}
    controls = {"slope": Slider("slope", (0.0, 1.0), 0.0), "intercept": Slider("intercept", (1.0, 2.0), 1.0)}

    def box(shown):
        return site_data(site_kernel.site_html(shown, tmp_path, "."))["pad"]["box"]

    with matplotlib.rc_context(plots.STYLE):  # the course's style asks for a tight layout by default
        fixed = box(explorer(margins, layout=None, **common, **controls))
        tight = box(explorer(margins, **common, **controls))
    assert [fixed[side] for side in ("left", "right", "top", "bottom")] == pytest.approx([0.25, 0.9, 0.2, 0.7])
    assert tight["left"] != pytest.approx(0.25)  # the default, tight layout, moves them


def test_the_kernel_shows_explorers_and_progress_bars_the_sites_way_once_registered(
    line, tmp_path, monkeypatch, capsys
):
    import tqdm.auto
    from IPython.core.interactiveshell import InteractiveShell

    monkeypatch.setattr(tqdm.auto, "tqdm", tqdm.auto.tqdm)  # register() changes it: undone after the test
    shell = InteractiveShell.instance()
    try:
        shown = explorer(line, figsize=(3, 2), slope=Slider("slope", (0.0, 1.0), 0.0))
        data, _ = shell.display_formatter.format(shown)
        assert "application/vnd.jupyter.widget-view+json" in data  # a learner's kernel: the live widget
        (tmp_path / "chapters").mkdir()
        monkeypatch.chdir(tmp_path / "chapters")  # a kernel runs in its notebook's folder
        site_kernel.register(shell, str(tmp_path / "store"), str(tmp_path))
        data, _ = shell.display_formatter.format(shown)
        assert set(data) == {"text/html", "text/plain"}  # nothing for a widget manager to load
        frames = site_data(data["text/html"])["frames"]
        assert all(url.startswith("../_images/explorers/") for url in frames)
        saved = sorted(p.name for p in (tmp_path / "store").glob("*.webp"))
        assert saved == sorted({u.rsplit("/", 1)[1] for u in frames})
        bar = tqdm.auto.tqdm(total=3, desc="training", mininterval=0)
        for _ in range(3):
            bar.update()
        bar.close()
        assert "training: 100%|" in capsys.readouterr().out  # text on stdout, not a widget
    finally:
        InteractiveShell.clear_instance()


def test_the_profile_the_build_writes_loads_the_site_explorers(line, tmp_path, monkeypatch):
    """What the kernels of a build run at start-up, run here in a fresh interpreter."""
    import os
    import pathlib
    import subprocess
    import sys
    from types import SimpleNamespace

    import explorer_frames

    monkeypatch.setenv("IPYTHONDIR", "")  # kernel_profile sets it for the build's kernels: undone after the test
    app = SimpleNamespace(outdir=str(tmp_path / "_build" / "html"), srcdir=str(tmp_path))
    config = SimpleNamespace(nb_execution_in_temp=False, nb_execution_cache_path="")
    app.config = config
    explorer_frames.kernel_profile(app, config)
    folder = os.environ["IPYTHONDIR"]
    assert folder == str(tmp_path / "_build" / ".ipython")
    monkeypatch.setenv("IPYTHONDIR", folder)
    script = (
        "from IPython.core.interactiveshell import InteractiveShell\n"
        "from traitlets.config import PyFileConfigLoader\n"
        f"config = PyFileConfigLoader('ipython_kernel_config.py', {folder + '/profile_default'!r}).load_config()\n"
        "shell = InteractiveShell.instance()\n"
        "for line in config.InteractiveShellApp.exec_lines:\n"
        "    shell.run_cell(line, store_history=False).raise_error()\n"
        "from lib.explorers import Slider, explorer\n"
        "shown = explorer(lambda fig, a: fig.subplots().set_title(a) and None, a=Slider('a', (0.0, 1.0), 0.0))\n"
        "print(sorted(shell.display_formatter.format(shown)[0]))\n"
    )
    environment = {**os.environ, "PYTHONPATH": str(pathlib.Path(__file__).resolve().parent.parent)}  # for lib
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=tmp_path, env=environment)
    assert out.stdout.strip() == "['text/html', 'text/plain']", out.stderr
    assert len(list((tmp_path / "_build" / ".jupyter_cache" / "explorer-frames").glob("*.webp"))) == 2
    with pytest.raises(Exception, match="own folder"):
        explorer_frames.kernel_profile(app, SimpleNamespace(nb_execution_in_temp=True, nb_execution_cache_path=""))


def valley_backdrop(fig, scale):
    """Contours of a valley (steeper for a larger ``scale``) on fixed axes, and beside them
    axes whose title only the backdrop sets."""
    ax, other = fig.subplots(1, 2)
    grid = np.linspace(-3, 3, 60)
    ax.contour(grid, grid, scale * grid[:, None] ** 2 + grid[None, :] ** 2, levels=8)
    ax.set(xlim=(-3, 3), ylim=(-3, 3), xlabel="$x$", ylabel="$y$", title="a valley")
    other.set(xlim=(0, 40), ylim=(-5, 5), title="where x goes")


def valley_steps(fig, scale, start, lr):
    """Forty gradient steps on the valley; a legend, and a title that some settings change."""
    ax = fig.axes[0]
    point, points = np.array([start, 2.0]), []
    for _ in range(40):
        points.append(point)
        point = point - lr * np.array([2 * point[1], 2 * scale * point[0]])
    points = np.clip(points, -5, 5)
    ax.plot(points[:, 0], points[:, 1], "o-", markersize=2, label="descent")
    ax.plot(*points[-1], "*", markersize=10, label="end")  # the second colour of the cycle
    ax.legend(loc="upper left")
    if lr > 0.1:  # the backdrop's title, until a setting changes it
        ax.set_title(f"scale {scale}, lr {lr:.2f}", fontsize=9)
    fig.axes[1].plot(points[:, 0])
    return {"end x": float(points[-1, 0])}


@pytest.mark.parametrize("layout", ["tight", None])
def test_with_a_backdrop_each_site_picture_is_the_figure_of_its_setting(layout):
    shown = explorer(
        valley_steps,
        backdrop=valley_backdrop,
        figsize=(6, 3),
        layout=layout,
        scale=Slider("scale", (1.0, 4.0), 1.0),
        start=Slider("start", (-2.0, 0.0, 2.0), 2.0),
        lr=Slider("lr", (0.05, 0.2, 0.4), 0.05),
    )
    settings = shown.combinations()
    drawn = {}
    for k, _fig, picture, numbers, _text in site_kernel.pictures(shown, settings):
        drawn[k] = (picture.copy(), numbers)
    assert sorted(drawn) == list(range(len(settings)))
    assert len({p.tobytes() for p, _ in drawn.values()}) == len(settings)  # every setting looks different
    for k, setting in enumerate(settings):
        fig, numbers = shown.figure(setting)  # a new figure, as in a learner's kernel
        canvas = site_kernel.FigureCanvasAgg(fig)
        canvas.draw()
        alone = site_kernel.rgb(canvas)
        picture, site_numbers = drawn[k]
        assert site_numbers == numbers
        assert picture.shape == alone.shape
        # the same picture, to within the anti-aliasing of lines drawn over a restored picture
        assert np.abs(picture.astype(int) - alone).mean() < 0.1, setting


def test_a_draw_that_moves_the_backdrops_limits_is_refused(tmp_path):
    def autoscaled(fig, a):
        fig.axes[0].plot([0, a], [0, a])  # the backdrop fixed no limits: they follow the line

    shown = explorer(autoscaled, backdrop=lambda fig: fig.subplots(), a=Slider("a", (1.0, 2.0), 1.0))
    with pytest.raises(ValueError, match="limits"):
        site_kernel.site_html(shown, tmp_path, ".")


NOTEBOOK_CELLS = """
import numpy as np

heights = np.arange(5.0)
calls = []


def axes_for(fig):
    fig.subplots().set(xlim=(0, 5), ylim=(0, 10))


def bars(fig, a):
    calls.append(a)
    fig.axes[0].plot(heights, a * heights)
    return {"top": float(a * heights[-1])}
"""


def notebook():
    """Functions defined as a notebook's cells define them (module ``__main__``), and their globals."""
    cells = {"__name__": "__main__"}
    exec(NOTEBOOK_CELLS, cells)
    return cells


def bars_explorer(cells):
    return explorer(cells["bars"], backdrop=cells["axes_for"], figsize=(3, 2), a=Slider("a", (1.0, 2.0), 1.0))


def test_an_explorer_whose_inputs_did_not_change_is_not_drawn_again(tmp_path):
    cells = notebook()
    first = site_kernel.site_html(bars_explorer(cells), tmp_path, ".")
    assert cells["calls"].count(2.0) == 1  # the site's figure of the setting the kernel does not show
    again = notebook()  # the notebook executed again, as after an edit to a cell the explorer does not read
    assert site_kernel.site_html(bars_explorer(again), tmp_path, ".") == first
    assert again["calls"] == [1.0]  # only the kernel's figure of the starting setting
    assert len(list((tmp_path / "records").iterdir())) == 1


@pytest.mark.parametrize(
    "edit",
    [
        lambda cells: cells.update(heights=np.arange(5.0) * 2),  # data it reads
        lambda cells: exec("def axes_for(fig):\n    fig.subplots().set(xlim=(0, 6), ylim=(0, 10))", cells),  # its code
        lambda cells: np.random.seed(1),  # noqa: NPY002 (the global generator a draw might read)
    ],
    ids=["data", "backdrop code", "random state"],
)
def test_an_explorer_whose_inputs_changed_is_drawn_again(tmp_path, edit):
    np.random.seed(0)  # noqa: NPY002
    site_kernel.site_html(bars_explorer(notebook()), tmp_path, ".")
    cells = notebook()
    edit(cells)
    site_kernel.site_html(bars_explorer(cells), tmp_path, ".")
    assert cells["calls"].count(2.0) >= 1  # drawn again: a setting the kernel's figure does not show
    assert len(list((tmp_path / "records").iterdir())) == 2


def test_an_explorer_reading_what_cannot_be_fingerprinted_is_always_drawn(tmp_path):
    cells = notebook()
    cells["heights"] = np.arange(5.0)
    lock = __import__("threading").Lock()  # pickle cannot write a lock

    def bars(fig, a):
        assert lock is not None
        return cells["bars"](fig, a)

    shown = explorer(bars, backdrop=cells["axes_for"], figsize=(3, 2), a=Slider("a", (1.0, 2.0), 1.0))
    assert site_kernel.fingerprint(shown) is None
    site_kernel.site_html(shown, tmp_path, ".")
    assert cells["calls"].count(2.0) == 1
    site_kernel.site_html(shown, tmp_path, ".")
    assert cells["calls"].count(2.0) == 2
    assert not (tmp_path / "records").exists()


@pytest.mark.parametrize("backdrop", [False, True])
@pytest.mark.parametrize("small", ["title set by draw", "text drawn by draw", "legend drawn by draw", "backdrop label"])
def test_the_site_explorer_records_the_smallest_text_of_all_its_pictures(tmp_path, backdrop, small):
    """A 7 pt text (that some settings draw, or that the backdrop draws for all) is the record,
    on a backdrop's figure or on a new figure for each setting."""

    def axes(fig):
        ax = fig.subplots()
        ax.set(xlim=(0, 1), ylim=(-1, 1), title="a line")
        if small == "backdrop label":
            ax.set_xlabel("steep", fontsize=7)
        return ax

    def line_of(fig, slope):
        ax = fig.axes[0] if backdrop else axes(fig)
        ax.plot([0, 1], [0, slope], label="steep")
        if slope > 0.5 and small == "title set by draw":
            ax.set_title("steep", fontsize=7)
        if slope > 0.5 and small == "text drawn by draw":
            ax.text(0.5, 0.5, "steep", fontsize=7)
        if slope > 0.5 and small == "legend drawn by draw":
            ax.legend(fontsize=7)

    shown = explorer(
        line_of, backdrop=axes if backdrop else None, figsize=(3, 2), slope=Slider("slope", (0.0, 0.5, 1.0), 0.0)
    )
    markup = site_kernel.site_html(shown, tmp_path, "..")
    record = json.loads(html.unescape(re.search(r'<img [^>]*data-smallest-text="([^"]*)"', markup)[1]))
    assert record == {"pt": 7.0, "px": round(7 * 80 / 72, 3), "text": "steep"}


def test_a_figure_a_cell_shows_records_its_smallest_text_in_the_build(tmp_path, monkeypatch):
    """A kernel of the build (its profile) shows a figure once, as a PNG that records its
    smallest text; a learner's kernel shows the inline backend's own PNG."""
    import base64
    import io
    import os
    import pathlib
    from types import SimpleNamespace

    import explorer_frames
    import nbformat
    from nbclient import NotebookClient

    source = (
        "import matplotlib.pyplot as plt\n"
        "fig, ax = plt.subplots(figsize=(4, 3), dpi=80)\n"
        "ax.plot([0, 1])\n"
        "ax.annotate('small', (0.5, 0.5), fontsize=7);"
    )
    root = pathlib.Path(__file__).resolve().parent.parent
    monkeypatch.setenv("PYTHONPATH", str(root))  # for lib, in the kernel
    (tmp_path / "chapters").mkdir()

    def shown() -> list[dict]:
        notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source)])
        NotebookClient(notebook, resources={"metadata": {"path": str(tmp_path / "chapters")}}).execute()
        outputs = [output for output in notebook.cells[0].outputs if "image/png" in output.get("data", {})]
        pictures = []
        for output in outputs:
            with Image.open(io.BytesIO(base64.b64decode(output["data"]["image/png"]))) as image:
                pictures.append({"size": image.size, "text": image.text.get(plots.TEXT_SIZE_KEY)})
        return pictures

    monkeypatch.setenv("IPYTHONDIR", str(tmp_path / "learner"))  # an empty profile
    (learner,) = shown()
    assert learner["text"] is None
    app = SimpleNamespace(outdir=str(tmp_path / "_build" / "html"), srcdir=str(tmp_path))
    app.config = SimpleNamespace(nb_execution_in_temp=False, nb_execution_cache_path="")
    explorer_frames.kernel_profile(app, app.config)  # sets IPYTHONDIR, which monkeypatch restores
    monkeypatch.setenv("IPYTHONDIR", os.environ["IPYTHONDIR"])
    (built,) = shown()
    assert json.loads(built["text"]) == {"pt": 7.0, "px": round(7 * 80 / 72, 3), "text": "small"}
    assert built["size"] == learner["size"]  # saved as the inline backend saves it: cropped the same
