"""Numbers do not move: every model trained a few steps on CPU, alone and with seeds batched, must give bitwise the
final weights and training logs recorded in tests/reference/train_digests.json.

The digests were recorded before the training loop was restructured (issue 14) and guard every later change of the
training code: a change that moves a number must say so and re-record them
(`python -m tests.test_train_digests --record`), never pass by accident. Float kernels differ between torch builds
and CPU instruction sets, so the digests are kept per (torch version, CPU capability, a fingerprint of the float
kernels: two AVX-512 machines of two vendors train to other numbers).

An AVX-512 machine records an AVX2 machine's digests when told to use AVX2 kernels only:
`ATEN_CPU_CAPABILITY=avx2 ONEDNN_MAX_CPU_ISA=AVX2 MKL_ENABLE_INSTRUCTIONS=AVX2 python -m tests.test_train_digests
--record` (checked: so run, the code of 8aa53ff reproduced bitwise the digests an AVX2 machine had recorded at db85346,
all five models).
"""

import functools
import hashlib
import json
import sys
from pathlib import Path

import pandas as pd
import pytest
import torch

from gan_study.train import RunOutputs, train, train_seeds

REFERENCE = Path(__file__).resolve().parent / "reference" / "train_digests.json"
MODELS = ("mlp_gan", "cgan", "dcgan", "wgan", "wgan_gp")


@functools.cache
def kernel_fingerprint():
    """A hash of what this machine's float kernels make of fixed inputs: matrix products (MKL), convolutions (oneDNN),
    batch norm, reductions and transcendental functions (ATen). The CPU capability alone does not tell the kernels
    apart: MKL takes other code paths on other vendors' AVX-512 machines, and the training numbers follow."""
    g = torch.Generator().manual_seed(0)
    a, b = torch.rand(64, 300, generator=g) - 0.5, torch.rand(300, 240, generator=g) - 0.5
    images, kernel = torch.rand(8, 16, 14, 14, generator=g) - 0.5, torch.rand(16, 16, 4, 4, generator=g) - 0.5
    fn = torch.nn.functional
    outputs = [a @ b, torch.bmm(a.view(4, 16, 300), b.expand(4, 300, 240)), torch.addmm(b[0, :], a, b),
               fn.conv2d(images, kernel, stride=2, padding=1), fn.conv_transpose2d(images, kernel, stride=2, padding=1),
               fn.batch_norm(images, None, None, training=True), a.sum(), a.mean(0), fn.softplus(a), a.exp(), a.tanh()]
    h = hashlib.sha256()
    for out in outputs:
        h.update(out.contiguous().numpy().tobytes())
    return h.hexdigest()[:12]


def platform_key():
    return (f"torch {torch.__version__} / cpu {torch.backends.cpu.get_cpu_capability()} / kernels "
            f"{kernel_fingerprint()}")


def small(config, model):
    config["models"][model].update(epochs=2, train_limit=640, log_every=2)
    if "width" in config["models"][model]:
        config["models"][model]["width"] = 8
    return config


def digest(final_pt, log_csv):
    state = torch.load(final_pt, weights_only=True)
    h = hashlib.sha256()
    for net in ("generator", "discriminator"):
        for name in sorted(state[net]):
            h.update(f"{net}.{name}".encode())
            h.update(state[net][name].contiguous().numpy().tobytes())
    h.update(pd.read_csv(log_csv).to_numpy(dtype="float64").tobytes())
    return h.hexdigest()


def run_digests(config, model, root):
    """Digests of one seed alone and of two seeds batched (seed by seed, and vmapped)."""
    config = small(config, model)
    out = {}
    d = root / "alone"
    train(config, model, "mnist", 3, d, d / "final.pt", d / "log.csv", d / "train.json")
    out["alone seed3"] = digest(d / "final.pt", d / "log.csv")
    for mode, vectorized in (("seed_by_seed", False), ("vmap", True)):
        d = root / mode
        outputs = [RunOutputs(d / f"s{s}" / "final.pt", d / f"s{s}" / "log.csv", d / f"s{s}" / "train.json")
                   for s in (0, 3)]
        train_seeds(config, model, "mnist", [0, 3], d, outputs, vectorized=vectorized)
        for s, o in zip((0, 3), outputs):
            out[f"{mode} seed{s}"] = digest(o.final, o.log_csv)
    return out


def recorded():
    return json.loads(REFERENCE.read_text()) if REFERENCE.exists() else {}


@pytest.mark.parametrize("model", MODELS)
def test_training_numbers_match_the_recorded_digests(model, tiny_config, tmp_path):
    table = recorded().get("digests", {}).get(platform_key())
    if table is None:
        pytest.skip(f"no digests recorded for {platform_key()} (recorded: {', '.join(recorded().get('digests', {}))}); "
                    "record them at a commit whose numbers a recorded machine confirms: python -m "
                    "tests.test_train_digests --record")
    assert run_digests(tiny_config, model, tmp_path) == table[model]


if __name__ == "__main__" and sys.argv[1:] == ["--record"]:
    import subprocess
    import tempfile

    from tests.conftest import SMOKE, data_dir
    from gan_study.config import load_config

    data = recorded()
    commit = subprocess.run(["git", "rev-parse", "--short=10", "HEAD"], capture_output=True, text=True).stdout.strip()
    others = ["git", "status", "--porcelain", "--untracked-files=no", "--", ".",
              f":!{REFERENCE.relative_to(Path.cwd())}"]
    if subprocess.run(others, capture_output=True, text=True).stdout:  # changes besides the digests being recorded
        commit += " with uncommitted changes"
    table = {}
    for model in MODELS:
        config = load_config(SMOKE)
        config["data_dir"] = str(data_dir())
        config["models"]["mlp_gan"].update(epochs=2, train_limit=600, log_every=2)
        with tempfile.TemporaryDirectory() as tmp:
            table[model] = run_digests(config, model, Path(tmp))
        print(model, table[model])
    data.setdefault("digests", {})[platform_key()] = table
    data.setdefault("recorded_at", {})[platform_key()] = commit
    REFERENCE.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")
