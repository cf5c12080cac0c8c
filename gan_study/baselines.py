"""The Parzen critique of Theis, van den Oord & Bethge (2016), measured with the paper's own protocol.

Two "models" that are no generative model at all, scored exactly like the GANs (same σ grid chosen on the
same validation images, same test images, same number of centres):
- true data: the first N training images as the Parzen centres;
- k-means: N centroids of the training set (Lloyd's algorithm, seeded), which Theis et al. found can score
  higher than real data — so a high Parzen number is no evidence of good samples.
"""

import torch

from .config import sigma_grid
from .data import load_splits
from .parzen import evaluate
from .provenance import StampedRecord
from .runtime import resolve_device
from .commands import arg, command


def kmeans(x, k, iterations, seed, block_size=2048):
    """Lloyd's algorithm on rows of `x` (N, D); initial centroids a seeded random subset. Returns (k, D)."""
    flat = x.flatten(1).float()
    rng = torch.Generator(device=x.device).manual_seed(seed)
    centroids = flat[torch.randperm(flat.shape[0], generator=rng, device=x.device)[:k]].clone()
    for _ in range(iterations):
        # float32 suffices to pick the nearest centroid (the Parzen scores themselves are computed in float64);
        # ‖x‖² is the same for every centroid, so it drops out of the argmin.
        c_sq = (centroids * centroids).sum(1)
        assign = torch.cat([(c_sq - 2.0 * flat[i : i + block_size] @ centroids.T).argmin(1)
                            for i in range(0, flat.shape[0], block_size)])
        sums = torch.zeros_like(centroids).index_add_(0, assign, flat)
        counts = torch.bincount(assign, minlength=k).to(flat.dtype)
        filled = counts > 0  # an empty cluster keeps its centroid
        centroids[filled] = sums[filled] / counts[filled, None]
    return centroids.view(k, *x.shape[1:])


def parzen_baselines(config, dataset, out_json):
    p, b = config["parzen"], config["parzen_baselines"]
    record = StampedRecord(config, b["seed"], dataset=dataset)
    device = resolve_device(config["device"])
    splits = load_splits(dataset, config["data_dir"], config["download"])
    train = splits.train_x.to(device)
    valid, test = splits.valid_x[: p["n_valid"]].to(device), splits.test_x[: p["n_test"]].to(device)
    n, sigmas = p["n_samples"], sigma_grid(p)
    pool = train[: b["kmeans_train_limit"]] if b["kmeans_train_limit"] else train
    centroids = kmeans(pool, n, b["kmeans_iterations"], b["seed"])
    record.update(
        true_data={**evaluate(train[:n], valid, test, sigmas, p["block_size"]),
                   "centres": f"the first {n} training images"},
        kmeans={**evaluate(centroids, valid, test, sigmas, p["block_size"]),
                "centres": f"{n} k-means centroids of {pool.shape[0]} training images",
                "iterations": b["kmeans_iterations"]},
        parzen_config=p,
    )
    return record.write(out_json, device)


@command("parzen-baselines", [arg("--dataset", required=True), arg("--out", required=True)])
def parzen_baselines_command(config, args):
    r = parzen_baselines(config, args.dataset, args.out)
    print(f"{args.dataset}: Parzen with true-data centres {r['true_data']['test_mean_ll']:.1f}, "
          f"with k-means centres {r['kmeans']['test_mean_ll']:.1f} nats")
