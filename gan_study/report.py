"""Build a study's report PDF from its results dir with latexmk, in a scratch dir, atomically.

The DAG writes report/<study>/gan_study.pdf; report/gan_study.pdf is a copy of the latest one built.
"""

import re
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


def first_latex_error(log_path, stdout, results_dir):
    """The first real LaTeX error (file:line: message, and the source line TeX stopped at), not latexmk's summary;
    an undefined gs* macro means the results dir was aggregated by an older version."""
    log = log_path.read_text(errors="replace") if log_path.is_file() else stdout
    lines = log.splitlines()
    for i, line in enumerate(lines):
        match = re.match(r"^\S*\.tex:(\d+): (.*)$", line)
        if not match or "Fatal error occurred" in match.group(2):
            continue
        context = next((c.strip() for c in lines[i + 1 : i + 6] if c.startswith("l.")), "")
        message = f"gan_study.tex line {match.group(1)}: {match.group(2)} {context}".strip()
        macro = re.search(r"\\(gs[A-Za-z]+)\s*$", context.split("{")[0]) if context else None
        if "Undefined control sequence" in match.group(2) and macro:
            return (f"{message}; \\{macro.group(1)} is not defined by {results_dir}/macros.tex, which an older version "
                    f"wrote: rebuild its tables with `python -m gan_study reaggregate --study "
                    f"{Path(results_dir).name}`")
        return message
    return stdout[-800:]


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
            raise GanStudyError(f"latexmk failed: {first_latex_error(build / 'gan_study.log', done.stdout, results_dir)}")
        for target in (out_pdf, LATEST):
            with atomic_path(target) as tmp:
                shutil.copy(build / "gan_study.pdf", tmp)


@command("report", [arg("--results-dir", required=True), arg("--out", required=True)])
def report_command(config, args):
    build_report(args.results_dir, args.out)
