# The two commands of a fresh clone (README):
#   make study   — set up what the study needs, then run the smoke study to its PDF (report/smoke/gan_study.pdf)
#   make test    — set up what the tests need, then run them (python -m pytest)
# Both are idempotent: a second call re-installs nothing. Data: $GAN_STUDY_DATA_DIR if set, else downloaded into ./data
# (online); the Inception weights: $GAN_STUDY_INCEPTION_WEIGHTS if set, else torch-fidelity downloads its release file.

PYTHON ?= python3
VENV ?= .venv
TORCH ?= torch==2.14.1 torchvision==0.29.1
STUDY_DEBS := latexmk texlive-latex-recommended texlive-latex-extra texlive-science texlive-pictures \
	texlive-fonts-recommended lmodern poppler-utils
TEST_DEBS := $(STUDY_DEBS) slurm-wlm munge
# Without a data dir, let torchvision fetch MNIST / Fashion-MNIST (the config's `download`).
DATA_ARGS := $(if $(GAN_STUDY_DATA_DIR),,--config download=True)
# The rules and the tests call `python` and `snakemake`: the venv's, as if it were activated.
export VIRTUAL_ENV := $(abspath $(VENV))
export PATH := $(VIRTUAL_ENV)/bin:$(PATH)

.PHONY: study test venv system-study system-test clean-study

study: venv system-study
	$(VENV)/bin/snakemake --profile workflows/profiles/smoke $(DATA_ARGS)

test: venv system-test
	$(VENV)/bin/python -m pytest

venv: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip install -q $(TORCH)
	$(VENV)/bin/pip install -q -e '.[test]'
	touch $@

system-study:
	@tools/system-packages $(STUDY_DEBS)

system-test:
	@tools/system-packages $(TEST_DEBS)

clean-study:
	rm -rf results/smoke work/smoke logs/smoke report/smoke
