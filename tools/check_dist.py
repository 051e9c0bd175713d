"""Build the release as PyPI would serve it, and try it as a user would: ``make dist-check``.

1. ``python -m build`` makes a wheel and an sdist in a folder of the run's own;
2. ``twine check --strict`` passes on both;
3. the wheel holds every module of ``diffs`` and ``diffs_tasks`` and their data (``py.typed``,
   the admin's templates), nothing else, and setup.cfg's version;
4. a new virtualenv installs the wheel (its dependencies from the package index) and runs
   ``example/demo.py`` copied away from the source tree, so that only the installed package
   can be imported: the flow of ``make demo``, on what a user installs.

Needs ``build`` and ``twine`` in the running Python, and redis-server (the demo's).
"""

from __future__ import annotations

import configparser
import os
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("diffs", "diffs_tasks")


def run(*argv: str | Path, cwd: Path = ROOT, env: dict[str, str] | None = None) -> str:
    """Run a command; stop with its output when it fails."""
    done = subprocess.run([str(arg) for arg in argv], cwd=cwd, env=env, capture_output=True,
                          text=True, stdin=subprocess.DEVNULL)
    if done.returncode != 0:
        sys.exit(f"{' '.join(map(str, argv))} failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout


def version() -> str:
    """Return the version setup.cfg declares: the one place it is written."""
    config = configparser.ConfigParser()
    config.read(ROOT / "setup.cfg")
    return config["metadata"]["version"]


def expected_files() -> set[str]:
    """Return the package files the wheel must hold: what git tracks under the packages."""
    tracked = run("git", "ls-files", *PACKAGES).split()
    return {path for path in tracked if not path.endswith((".pyc", ".gitignore"))}


def check_wheel(wheel: Path) -> None:
    """Stop unless the wheel holds exactly the packages' files, their data, and the version."""
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        metadata = next(n for n in names if n.endswith(".dist-info/METADATA"))
        fields = archive.read(metadata).decode()
    packaged = {name for name in names if name.split("/", 1)[0] in PACKAGES}
    others = {name for name in names if name not in packaged and ".dist-info/" not in name}
    expected = expected_files()
    problems = []
    if packaged != expected:
        missing, extra = sorted(expected - packaged), sorted(packaged - expected)
        problems.append(f"missing {missing}, extra {extra}")
    if others:
        problems.append(f"files outside the packages: {sorted(others)}")
    if not any(re.search(r"\.dist-info/(licenses/)?LICENSE$", name) for name in names):
        problems.append("no LICENSE in its metadata")
    if f"\nVersion: {version()}\n" not in fields:
        problems.append(f"its version is not setup.cfg's {version()}")
    for needed in ("diffs/py.typed", "diffs/templates/diffs/admin/"):
        if not any(name.startswith(needed) for name in packaged):
            problems.append(f"no {needed}")
    if problems:
        sys.exit(f"{wheel.name}: " + "; ".join(problems))
    print(f"{wheel.name}: {len(packaged)} package files, py.typed, templates, LICENSE, "
          f"version {version()}")


def try_installed(wheel: Path, work: Path) -> None:
    """Install the wheel into a new virtualenv and run the demo with it, away from the source."""
    venv = work / "venv"
    run(sys.executable, "-m", "venv", venv)
    python = venv / "bin" / "python"
    run(python, "-m", "pip", "install", "--quiet", wheel)
    example = work / "example"
    shutil.copytree(ROOT / "example", example,
                    ignore=shutil.ignore_patterns("__pycache__", "db.sqlite3"))
    env = {key: value for key, value in os.environ.items()
           if key not in ("PYTHONPATH", "DJANGO_SETTINGS_MODULE", "VIRTUAL_ENV")}
    where = run(python, "-c", "import diffs; print(diffs.__file__); print(diffs.__version__)",
                cwd=work, env=env).split()
    if not where[0].startswith(str(venv)) or where[1] != version():
        sys.exit(f"the clean virtualenv imports diffs {where[1]} from {where[0]}, not the wheel's")
    print(f"installed in a clean virtualenv: diffs {where[1]} from {where[0]}")
    demo = subprocess.run([str(python), str(example / "demo.py")], cwd=work, env=env,
                          stdin=subprocess.DEVNULL)
    if demo.returncode != 0:
        sys.exit("example/demo.py failed on the installed wheel")


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="diffs-dist-") as tmp:
        work = Path(tmp)
        dist = work / "dist"
        run(sys.executable, "-m", "build", "--outdir", dist, ROOT)
        wheel, sdist = next(dist.glob("*.whl")), next(dist.glob("*.tar.gz"))
        print(f"built {wheel.name} and {sdist.name}")
        run(sys.executable, "-m", "twine", "check", "--strict", wheel, sdist)
        print("twine check --strict: passed")
        check_wheel(wheel)
        try_installed(wheel, work)
    print("dist-check passed: built, checked, installed in a clean virtualenv, demo ran.")


if __name__ == "__main__":
    main()
