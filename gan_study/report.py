"""Build a study's report PDF from its results dir with latexmk, in a scratch dir, atomically.

The DAG writes report/<study>/gan_study.pdf; report/gan_study.pdf is a copy of the latest one built.
"""

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from .atomic import atomic_path
from .errors import GanStudyError
from .commands import arg, command

REPORT_DIR = Path(__file__).resolve().parent.parent / "report"
LATEST = REPORT_DIR / "gan_study.pdf"
SOURCES = ("gan_study.tex", "references.bib")
TEX_PACKAGES = ("latexmk texlive-latex-recommended texlive-latex-extra texlive-science texlive-pictures "
                "texlive-fonts-recommended lmodern")


def warn_if_tex_missing():
    """At the start of a workflow: the report rule needs TeX from the host (the conda environment has none)."""
    if shutil.which("latexmk") is None:
        print("gan-study: latexmk is not on PATH: every step up to the report runs, the PDF step will fail; install "
              f"TeX (README, Setup: apt-get install {TEX_PACKAGES})", file=sys.stderr)


def build_report(results_dir, out_pdf):
    results_dir = Path(results_dir)
    if shutil.which("latexmk") is None:
        raise GanStudyError(f"latexmk is not installed; on Debian/Ubuntu: apt-get install {TEX_PACKAGES}")
    for name in ("macros.tex", "methods.tex", "tables/table1.tex", "figures/figures.tex"):
        if not (results_dir / name).is_file():
            raise GanStudyError(f"{results_dir / name} is missing; run the DAG (snakemake) to produce it")
    with tempfile.TemporaryDirectory(prefix="gan_study_report_") as build:
        build = Path(build)
        for name in SOURCES:
            shutil.copy(REPORT_DIR / name, build / name)
        shutil.copytree(results_dir, build / "results")
        cmd = ["latexmk", "-pdf", "-interaction=nonstopmode", "-halt-on-error", "-file-line-error", "gan_study.tex"]
        done = subprocess.run(cmd, cwd=build, capture_output=True, text=True)
        if done.returncode != 0:
            errors = [line for line in done.stdout.splitlines() if ":" in line and "error" in line.lower()]
            raise GanStudyError(f"latexmk failed: {' | '.join(errors[:3]) or done.stdout[-800:]}")
        for target in (out_pdf, LATEST):
            with atomic_path(target) as tmp:
                shutil.copy(build / "gan_study.pdf", tmp)


@command("report", [arg("--results-dir", required=True), arg("--out", required=True)])
def report_command(config, args):
    build_report(args.results_dir, args.out)
