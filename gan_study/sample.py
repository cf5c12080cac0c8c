"""Draw samples from a trained generator, mapped to [0, 1] whatever the model's output range."""

import torch
from torchvision.utils import make_grid, save_image

from . import checkpoint
from .atomic import atomic_path, save_torch
from .data import DATASETS
from .models import get_variant
from .runtime import resolve_device

SAMPLE_SEED_OFFSET = 1_000_003  # sample noise gets its own stream, separate from the training one
SAMPLES_FORMAT = "gan_study.samples/1"


def load_generator(final_path, model, dataset, seed, cfg, device):
    state = checkpoint.load(final_path, expect={"model": model, "dataset": dataset, "seed": seed})
    variant = get_variant(model)
    gen, _ = variant.build(cfg, DATASETS[dataset].image_shape, None)
    gen.load_state_dict(state["generator"])
    return variant, gen.to(device).eval(), state["status"]


@torch.no_grad()
def generate(variant, gen, cfg, n, seed, device, labels=None, batch_size=1000):
    """`n` samples in [0, 1]; a conditional model gets `labels` (default: n/10 per class, in blocks)."""
    rng = torch.Generator(device=device)
    rng.manual_seed(seed + SAMPLE_SEED_OFFSET)
    if labels is None:
        labels = variant.sample_labels(n, device)
    parts = []
    for start in range(0, n, batch_size):
        z = variant.sample_noise(min(batch_size, n - start), cfg, rng, device)
        y = None if labels is None else labels[start : start + z.shape[0]].to(device)
        parts.append(variant.to_unit_range(gen(z, y)).float().cpu())
    return torch.cat(parts)


def write_grid(images, path, rows, cols):
    grid = make_grid(images[: rows * cols], nrow=cols, padding=2, pad_value=1.0)
    with atomic_path(path) as tmp:
        save_image(grid, tmp)


def sample(config, model, dataset, seed, final_path, samples_path, grid_path):
    """Write `samples_path` (n_samples images in [0, 1]) and a sample-grid PNG.

    A diverged run has no meaningful samples: the file then records the status and no images, and
    the evaluators pass the status on instead of scoring NaNs.
    """
    cfg = config["models"][model]
    device = resolve_device(config["device"])
    variant, gen, status = load_generator(final_path, model, dataset, seed, cfg, device)
    n = max(config["parzen"]["n_samples"], config["fid"]["n_samples"] if config["fid"]["enabled"] else 0)
    payload = {"format": SAMPLES_FORMAT, "model": model, "dataset": dataset, "seed": seed, "status": status}
    rows, cols = config["report"]["grid_rows"], config["report"]["grid_cols"]
    if status == "completed":
        images = generate(variant, gen, cfg, n, seed, device)
        payload["images"] = images
        if variant.conditional:  # class-conditional grid: row r shows class r mod 10
            payload["labels"] = variant.sample_labels(n, "cpu")
            grid_labels = (torch.arange(rows * cols) // cols) % 10
            write_grid(generate(variant, gen, cfg, rows * cols, seed, device, labels=grid_labels), grid_path, rows, cols)
        else:
            write_grid(images, grid_path, rows, cols)
    else:
        blank = torch.ones(1, *DATASETS[dataset].image_shape)
        write_grid(blank, grid_path, 1, 1)  # a blank tile keeps the figure rule's inputs complete
    save_torch(samples_path, payload)
    return payload
