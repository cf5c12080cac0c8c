"""Draw samples from a trained generator, mapped to [0, 1] whatever the model's output range."""

import torch

from . import checkpoint
from .atomic import atomic_path, save_torch
from .datasets import REGISTRY as DATASETS
from .errors import GanStudyError
from .provenance import config_hash
from .models import get_variant
from .runtime import resolve_device
from .status import SCOREABLE, Status
from .commands import RUN_ARGS, arg, command

SAMPLE_SEED_OFFSET = 1_000_003  # sample noise gets its own stream, separate from the training one
SAMPLES_FORMAT = "gan_study.samples/1"


def run_hash(model, dataset, cfg):
    """The hash of the run config that trains (model, dataset) with model section `cfg` (as train.run_config)."""
    from .config import model_run_config

    return config_hash(model_run_config(model, dataset, cfg))


def load_generator(final_path, model, dataset, seed, cfg, device):
    """A run's generator, refused when its checkpoint is another run's or was trained under another model config."""
    state = checkpoint.load(final_path, expect={"model": model, "dataset": dataset, "seed": seed})
    expected = run_hash(model, dataset, cfg)
    if state.get("run_config_hash", expected) != expected:
        raise GanStudyError(f"{final_path} was trained under run config {state['run_config_hash']}, not this config's "
                            f"{expected}; sample it with the config it was trained with (--config), or re-train")
    variant = get_variant(model, cfg)
    gen, _ = variant.build(DATASETS[dataset].image_shape, None)
    gen.load_state_dict(state["generator"])
    return variant, gen.to(device).eval(), state["status"]


@torch.no_grad()
def generate(variant, gen, n, seed, device, labels=None, batch_size=1000):
    """`n` samples in [0, 1]; a conditional model gets `labels` (default: n/10 per class, in blocks)."""
    rng = torch.Generator(device=device)
    rng.manual_seed(seed + SAMPLE_SEED_OFFSET)
    if labels is None:
        labels = variant.sample_labels(n, device)
    parts = []
    for start in range(0, n, batch_size):
        z = variant.sample_noise(min(batch_size, n - start), rng, device)
        masks = variant.sampling_masks(gen, z.shape[0], rng, device)
        y = None if labels is None else labels[start : start + z.shape[0]].to(device)
        images = gen(z, y) if masks is None else gen(z, y, masks)
        parts.append(variant.to_unit_range(images).float().cpu())
    return torch.cat(parts)


def write_grid(images, path, rows, cols):
    # Imported here: torchvision costs seconds to import, and the metric jobs that read samples never draw a grid.
    from torchvision.utils import make_grid, save_image

    grid = make_grid(images[: rows * cols], nrow=cols, padding=2, pad_value=1.0)
    with atomic_path(path) as tmp:
        save_image(grid, tmp)


@torch.no_grad()
def interpolations(variant, gen, seed, device, rows=6, steps=10):
    """Figure 3 of the paper: rows of G((1 − t)·z₀ + t·z₁) for t evenly spaced in [0, 1]."""
    rng = torch.Generator(device=device)
    rng.manual_seed(seed + 2 * SAMPLE_SEED_OFFSET)
    z0, z1 = variant.sample_noise(rows, rng, device), variant.sample_noise(rows, rng, device)
    t = torch.linspace(0, 1, steps, device=device).view(1, steps, 1)
    z = ((1 - t) * z0[:, None, :] + t * z1[:, None, :]).reshape(rows * steps, -1)
    labels = None
    if variant.conditional:  # each row keeps one class while the noise moves
        labels = (torch.arange(rows, device=device) % 10).repeat_interleave(steps)
    masks = variant.sampling_masks(gen, rows, rng, device)  # one set a row: only the noise moves along it
    if masks is None:
        return variant.to_unit_range(gen(z, labels)).float().cpu()
    masks = [m.repeat_interleave(steps, dim=0) for m in masks]
    return variant.to_unit_range(gen(z, labels, masks)).float().cpu()


def nearest_training_examples(samples, train_x):
    """For each sample, the training image closest in pixel space (L2), as in the paper's Figure 2."""
    flat = train_x.flatten(1).double()
    d2 = (samples.flatten(1).double() ** 2).sum(1, keepdim=True) - 2 * samples.flatten(1).double() @ flat.T
    d2 += (flat**2).sum(1)
    return train_x[d2.argmin(dim=1)]


def nearest_neighbour_grid(images, train_x, rows=6, cols=5):
    """`rows` rows of `cols` samples; the rightmost column is the training example nearest the sample beside it."""
    samples = images[: rows * cols].view(rows, cols, *images.shape[1:])
    nearest = nearest_training_examples(samples[:, -1], train_x)
    return torch.cat([samples, nearest[:, None]], dim=1).flatten(0, 1), cols + 1


def evaluation_sample_count(config):
    """How many samples the sample step draws: enough for Parzen and for FID (each scores `scored_subset` of them)."""
    return max(config["parzen"]["n_samples"], config["fid"]["n_samples"] if config["fid"]["enabled"] else 0)


def scored_subset(images, labels, k):
    """The `k` of the evaluation `images` that a metric scores. Without labels: the first k. A conditional model's
    samples come in class blocks (`sample_labels`), whose first k would hold the first classes only (2,048 of 10,000:
    classes 0 and 1 and 48 images of class 2): the first of each class instead, as many per class as k labels drawn
    the same way have. All of them (k = n), in their order: the same images as the first k."""
    if labels is None or k >= len(images):
        return images[:k]
    classes = labels.unique(sorted=True)
    per_class = torch.bincount(torch.arange(k) * len(classes) // k, minlength=len(classes))
    keep = torch.cat([torch.nonzero(labels == c).flatten()[:m] for c, m in zip(classes, per_class.tolist())])
    return images[keep]


def evaluation_samples(variant, gen, config, seed, device, k):
    """The `k` samples a metric scores of a generator (a snapshot): drawn as the sample step draws them, then
    `scored_subset`."""
    n = evaluation_sample_count(config)
    images = generate(variant, gen, n, seed, device)
    return scored_subset(images, variant.sample_labels(n, "cpu"), k)


def sample(config, model, dataset, seed, final_path, samples_path, grid_path, nn_path=None, interp_path=None):
    """Write `samples_path` (n_samples images in [0, 1]) and a sample-grid PNG.

    A diverged run has no meaningful samples: the file then records the status and no images, and
    the evaluators pass the status on instead of scoring NaNs.
    """
    cfg = config["models"][model]
    device = resolve_device(config["device"])
    variant, gen, status = load_generator(final_path, model, dataset, seed, cfg, device)
    n = evaluation_sample_count(config)
    # A snapshot is a valid generator: its samples are scored like final weights ("generator" says which it was).
    # A collapsed run's samples are scored too, and keep its status so every record says what the run was.
    payload = {"format": SAMPLES_FORMAT, "model": model, "dataset": dataset, "seed": seed,
               "run_config_hash": run_hash(model, dataset, cfg),
               "status": Status.COMPLETED.value if status == Status.SNAPSHOT else status, "generator": status}
    rows, cols = config["report"]["grid_rows"], config["report"]["grid_cols"]
    if status in SCOREABLE:
        images = generate(variant, gen, n, seed, device)
        payload["images"] = images
        if variant.conditional:  # class-conditional grid: row r shows class r mod 10
            payload["labels"] = variant.sample_labels(n, "cpu")
            grid_labels = (torch.arange(rows * cols) // cols) % 10
            write_grid(generate(variant, gen, rows * cols, seed, device, labels=grid_labels), grid_path, rows, cols)
        else:
            write_grid(images, grid_path, rows, cols)
        if nn_path:
            from .data import load_splits

            train_x = load_splits(dataset, config["data_dir"], config["download"]).train_x
            grid, width = nearest_neighbour_grid(images, train_x)
            write_grid(grid, nn_path, grid.shape[0] // width, width)
        if interp_path:
            write_grid(interpolations(variant, gen, seed, device), interp_path, 6, 10)
    else:
        blank = torch.ones(1, *DATASETS[dataset].image_shape)
        for path in (grid_path, nn_path, interp_path):  # blank tiles keep the figure rule's inputs complete
            if path:
                write_grid(blank, path, 1, 1)
    save_torch(samples_path, payload)
    return payload


@command("sample", RUN_ARGS + [
    arg("--final", required=True), arg("--samples", required=True), arg("--grid", required=True),
    arg("--nearest", help="PNG: samples with their nearest training example (paper's Figure 2)"),
    arg("--interpolation", help="PNG: latent-space interpolations (paper's Figure 3)")])
def sample_command(config, args):
    sample(config, args.model, args.dataset, args.seed, args.final, args.samples, args.grid, args.nearest,
           args.interpolation)
