# Setup: make the course's `lib` package importable and fix the random seeds.
# Locally, `lib` is found in a parent folder; in Google Colab the repository is
# cloned once (set COURSE_REPO_URL to clone another copy).
import os
import pathlib
import random
import subprocess
import sys

REPO_URL = os.environ.get("COURSE_REPO_URL", "https://github.com/optimization-for-ml/optimization-for-ml")
try:
    import google.colab  # noqa: F401

    root = pathlib.Path("optimization-for-ml").resolve()
    if not (root / "lib").is_dir():
        subprocess.run(["git", "clone", "--depth", "1", "--quiet", REPO_URL, str(root)], check=True)
except ImportError:
    here = pathlib.Path.cwd()
    root = next((p for p in [here, *here.parents] if (p / "lib" / "__init__.py").is_file()), None)
    if root is None:
        raise FileNotFoundError(f"no course repository around {here}: open the notebook from its chapters/ folder")
if str(root) not in sys.path:
    sys.path.insert(0, str(root))

import numpy as np
import torch

from lib.plots import use_style
from lib.versions import torch_note

SEED = 0
random.seed(SEED)
np.random.seed(SEED)
torch.manual_seed(SEED)
device = "cuda" if torch.cuda.is_available() else "cpu"
use_style()
torch_warning = torch_note(torch.__version__)
if torch_warning:
    print(torch_warning)
