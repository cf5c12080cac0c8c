"""`python -m gan_study <command>`: the commands the Snakemake rules call (and a person can run by hand).

Every command takes `--config FILE...`: overlays merged onto workflows/config/config.yaml and
validated against the schema. Any GanStudyError becomes one line on stderr and exit status 2.
"""

import argparse
import sys

from .errors import GanStudyError


def _run_args(p):
    p.add_argument("--model", required=True)
    p.add_argument("--dataset", required=True)
    p.add_argument("--seed", required=True, type=int)


def build_parser():
    parser = argparse.ArgumentParser(prog="python -m gan_study", description=__doc__.splitlines()[0])
    parser.add_argument("--config", action="append", default=[], metavar="FILE",
                        help="config overlay (YAML/JSON) merged onto the default config; repeatable")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("check-config", help="validate the merged config and print it as JSON")
    p.add_argument("--out", help="write the resolved config (JSON) here instead of printing it")

    p = sub.add_parser("train", help="train one run (resumes from WORK_DIR/checkpoint.pt)")
    _run_args(p)
    p.add_argument("--work-dir", required=True)
    p.add_argument("--final", required=True, help="final weights (.pt)")
    p.add_argument("--log-csv", required=True)
    p.add_argument("--summary", required=True, help="train.json with status and provenance")

    p = sub.add_parser("train-seeds", help="train all given seeds of one (model, dataset) as one batched model")
    p.add_argument("--model", required=True)
    p.add_argument("--dataset", required=True)
    p.add_argument("--seeds", required=True, type=int, nargs="+")
    p.add_argument("--work-dir", required=True, help="the shared resumable checkpoint lives here")
    p.add_argument("--final", required=True, nargs="+", help="one per seed, in --seeds order")
    p.add_argument("--log-csv", required=True, nargs="+")
    p.add_argument("--summary", required=True, nargs="+")

    p = sub.add_parser("sample", help="draw the evaluation samples and a sample grid")
    _run_args(p)
    p.add_argument("--final", required=True)
    p.add_argument("--samples", required=True)
    p.add_argument("--grid", required=True)
    p.add_argument("--nearest", help="PNG: samples with their nearest training example (paper's Figure 2)")
    p.add_argument("--interpolation", help="PNG: latent-space interpolations (paper's Figure 3)")

    p = sub.add_parser("parzen", help="Parzen-window log-likelihood of the test set (paper protocol)")
    _run_args(p)
    p.add_argument("--samples", required=True)
    p.add_argument("--out", required=True)

    p = sub.add_parser("parzen-baselines", help="Theis et al. (2016) baselines: real data and k-means centres")
    p.add_argument("--dataset", required=True)
    p.add_argument("--out", required=True)

    p = sub.add_parser("parzen-tfd", help="TFD Parzen protocol (σ per fold, s.e. over folds) for 48×48 samples")
    p.add_argument("--samples", required=True, help="a gan-study samples file of 48×48 grayscale images")
    p.add_argument("--tfd-file", required=True, help="TFD_48x48.mat (licensed; supply your own copy)")
    p.add_argument("--out", required=True)

    p = sub.add_parser("fid-reference", help="cache the test set's Inception features for FID/KID/PR")
    p.add_argument("--dataset", required=True)
    p.add_argument("--cache-dir", required=True)
    p.add_argument("--out", required=True)

    p = sub.add_parser("fid", help="FID, KID and precision/recall of a run's samples (torch-fidelity)")
    _run_args(p)
    p.add_argument("--samples", required=True)
    p.add_argument("--reference", required=True, help="the dataset's fid-reference JSON")
    p.add_argument("--out", required=True)

    p = sub.add_parser("fid-curve", help="FID/KID/PR of every generator snapshot of a run (snapshots.every_n_epochs)")
    _run_args(p)
    p.add_argument("--train", required=True, help="the run's train.json (lists its snapshots)")
    p.add_argument("--fid", required=True, help="the run's final fid.json")
    p.add_argument("--reference", required=True, help="the dataset's fid-reference JSON")
    p.add_argument("--out", required=True)

    p = sub.add_parser("parzen-curve", help="Parzen of every generator snapshot of a run; the checkpoint chosen on "
                       "validation images (snapshots.every_n_epochs)")
    _run_args(p)
    p.add_argument("--train", required=True, help="the run's train.json (lists its snapshots)")
    p.add_argument("--parzen", required=True, help="the run's final parzen.json")
    p.add_argument("--out", required=True)

    p = sub.add_parser("aggregate", help="per-seed and per-cell tables, LaTeX tables and macros")
    p.add_argument("--parzen", nargs="+", required=True)
    p.add_argument("--train", nargs="+", required=True)
    p.add_argument("--fid", nargs="*", default=[])
    p.add_argument("--baselines", nargs="*", default=[], help="parzen-baselines JSON files")
    p.add_argument("--fid-curves", nargs="*", default=[], help="fid-curve JSON files (FID per checkpoint)")
    p.add_argument("--parzen-curves", nargs="*", default=[], help="parzen-curve JSON files (Parzen per checkpoint)")
    p.add_argument("--out-dir", required=True)
    p.add_argument("--allow-mixed-configs", action="store_true",
                   help="aggregate runs of one cell even if their run configs differ")

    p = sub.add_parser("figures", help="figures for the report")
    p.add_argument("--train-logs", nargs="+", required=True)
    p.add_argument("--grids", nargs="+", required=True)
    p.add_argument("--parzen-runs", help="parzen_runs.csv, for the seed-distribution plot")
    p.add_argument("--fid-runs", help="fid_runs.csv, for the seed-distribution plot")
    p.add_argument("--fid-curves", help="fid_curves.csv, for the FID-per-checkpoint plot")
    p.add_argument("--parzen-curves", help="parzen_curves.csv, for the Parzen-per-checkpoint plot")
    p.add_argument("--parzen-baselines", help="parzen_baselines.csv: the true-data line on that plot")
    p.add_argument("--out-dir", required=True)

    p = sub.add_parser("figure1", help="the paper's Figure 1 from a real 1-D GAN run")
    p.add_argument("--out-pdf", required=True)
    p.add_argument("--out-json", required=True)

    p = sub.add_parser("methods", help="the methods section, generated from the resolved config")
    p.add_argument("--out", required=True)

    p = sub.add_parser("readme", help="regenerate the README's results table from a committed results dir")
    p.add_argument("--results-dir", required=True)
    p.add_argument("--readme", default="README.md")

    p = sub.add_parser("bench", help="benchmark: naive vs device-resident vs seed-batched training, and Parzen")
    p.add_argument("--models", nargs="+", default=["mlp_gan", "dcgan"])
    p.add_argument("--seeds", type=int, default=5, help="seeds trained together in the batched path")
    p.add_argument("--steps", type=int, default=50, help="timed training steps per path")
    p.add_argument("--warmup", type=int, default=5)
    p.add_argument("--parzen-centres", type=int, default=10_000)
    p.add_argument("--parzen-points", type=int, default=1000)
    p.add_argument("--quick", action="store_true",
                   help="CPU-sized run (8 steps, Parzen 2,000 × 200): checks the benchmark, not the hardware")
    p.add_argument("--out-dir", default="results/bench", help="writes bench-<cpu|cuda>.json here")

    p = sub.add_parser("bench-parzen", help="benchmark: Parzen distances-once vs per-σ recomputation")
    p.add_argument("--centres", type=int, default=10_000)
    p.add_argument("--points", type=int, default=1000, help="validation points (the σ search)")
    p.add_argument("--dim", type=int, default=784)
    p.add_argument("--sigmas", type=int, default=10)
    p.add_argument("--block-size", type=int, default=1000)
    p.add_argument("--device", default="auto")
    p.add_argument("--out", help="write the result as JSON (e.g. results/bench/parzen-cpu.json)")

    p = sub.add_parser("publish-weights", help="copy a study's final and selected generators into results/<study>/weights")
    p.add_argument("--results-dir", required=True)
    p.add_argument("--work-dir", required=True, help="the study's work dir (work/<study>)")

    p = sub.add_parser("rescore", help="resample and re-score a study's published generators (no training)")
    p.add_argument("--results-dir", required=True)
    p.add_argument("--out-dir", required=True, help="scratch dir for the samples and scores")

    p = sub.add_parser("lease-prepare", help="here: cut data, weights and wheels into ≤ 48 MiB carries for a GPU lease")
    p.add_argument("--out", default=".dev", help="carries go to OUT/d1 (data + manifest), OUT/w*, OUT/p* (wheels)")
    p.add_argument("--no-wheels", action="store_true", help="skip the wheels (they need PyPI)")

    p = sub.add_parser("lease-run", help="there: restore the carries, run the profile under a deadline, pack to --out")
    p.add_argument("--carry", default=".dev")
    p.add_argument("--out", required=True, help="$OUT on the GPU machine")
    p.add_argument("--deadline-s", type=float, default=540, help="stop cleanly after this many seconds")
    p.add_argument("--profile", default="workflows/profiles/paper")
    p.add_argument("--configfile", nargs="*", default=[], help="overlays after the profile's study.yaml")
    p.add_argument("--bench", action="store_true", help="run `bench` first")
    p.add_argument("targets", nargs="*", help="Snakemake targets (default: the whole study but the report)")

    p = sub.add_parser("report", help="build the PDF from a results dir with latexmk")
    p.add_argument("--results-dir", required=True)
    p.add_argument("--out", required=True)
    return parser


def dispatch(args):
    from .config import load_config

    config = load_config(*args.config)
    if args.command == "check-config":
        import json

        text = json.dumps(config, indent=2, sort_keys=True)
        if args.out:
            from .atomic import write_text

            write_text(args.out, text + "\n")
        else:
            print(text)
    elif args.command == "train":
        from .train import train

        train(config, args.model, args.dataset, args.seed, args.work_dir, args.final, args.log_csv, args.summary)
    elif args.command == "train-seeds":
        from .train import RunOutputs, train_seeds

        if not len(args.seeds) == len(args.final) == len(args.log_csv) == len(args.summary):
            raise GanStudyError("train-seeds needs one --final, --log-csv and --summary path per seed")
        outputs = [RunOutputs(*paths) for paths in zip(args.final, args.log_csv, args.summary)]
        train_seeds(config, args.model, args.dataset, args.seeds, args.work_dir, outputs)
    elif args.command == "sample":
        from .sample import sample

        sample(config, args.model, args.dataset, args.seed, args.final, args.samples, args.grid,
               args.nearest, args.interpolation)
    elif args.command == "parzen":
        from .evaluate import parzen

        record = parzen(config, args.model, args.dataset, args.seed, args.samples, args.out)
        if record["status"] == "completed":
            print(f"{args.model}/{args.dataset}/seed{args.seed}: Parzen test log-likelihood "
                  f"{record['test_mean_ll']:.1f} ± {record['test_se']:.1f} nats (σ = {record['sigma']:.4f}, "
                  f"{record['n_centres']} samples, {record['n_test']} test images)")
    elif args.command == "parzen-baselines":
        from .baselines import parzen_baselines

        r = parzen_baselines(config, args.dataset, args.out)
        print(f"{args.dataset}: Parzen with true-data centres {r['true_data']['test_mean_ll']:.1f}, "
              f"with k-means centres {r['kmeans']['test_mean_ll']:.1f} nats")
    elif args.command == "parzen-tfd":
        from .atomic import write_json
        from .config import sigma_grid
        from .evaluate import load_samples
        from .tfd import load_tfd, parzen_tfd

        images, folds = load_tfd(args.tfd_file)
        samples = load_samples(args.samples)["images"]
        result = parzen_tfd(samples, images, folds, sigma_grid(config["parzen"]), config["parzen"]["block_size"])
        write_json(args.out, result)
        print(f"TFD Parzen log-likelihood {result['test_mean_ll']:.1f} ± {result['se_over_folds']:.1f} nats (s.e. over folds)")
    elif args.command == "fid-reference":
        from .evaluate import fid_reference

        record = fid_reference(config, args.dataset, args.cache_dir, args.out)
        print(f"{args.dataset}: cached features of {record['n_real']} test images; FID(test, test) = "
              f"{record['fid_test_vs_itself']:.3g}")
    elif args.command == "fid":
        from .evaluate import fid

        record = fid(config, args.model, args.dataset, args.seed, args.samples, args.reference, args.out)
        if record["status"] == "completed":
            print(f"{args.model}/{args.dataset}/seed{args.seed}: FID {record['fid']:.2f}, KID {record['kid_mean']:.4f} "
                  f"({record['n_generated']} vs {record['n_real']} images){' — ' + record['note'] if 'note' in record else ''}")
    elif args.command == "fid-curve":
        from .evaluate import fid_curve

        record = fid_curve(config, args.model, args.dataset, args.seed, args.train, args.fid, args.reference, args.out)
        if record["best"]:
            print(f"{args.model}/{args.dataset}/seed{args.seed}: best FID {record['best']['fid']:.2f} at epoch "
                  f"{record['best']['epoch']} of {len(record['points'])} checkpoints")
    elif args.command == "parzen-curve":
        from .evaluate import parzen_curve

        record = parzen_curve(config, args.model, args.dataset, args.seed, args.train, args.parzen, args.out)
        if record["selected"]:
            s = record["selected"]
            print(f"{args.model}/{args.dataset}/seed{args.seed}: chosen on validation: epoch {s['epoch']} "
                  f"(test {s['test_mean_ll']:.1f} ± {s['test_se']:.1f} nats) of {len(record['points'])} checkpoints")
    elif args.command == "aggregate":
        from .aggregate import aggregate

        aggregate(config, args.parzen, args.train, args.out_dir, args.allow_mixed_configs, args.fid, args.baselines,
                  args.fid_curves, args.parzen_curves)
    elif args.command == "figures":
        from .figures import figures

        figures(config, args.train_logs, args.grids, args.out_dir, args.parzen_runs, args.fid_runs, args.fid_curves,
                args.parzen_curves, args.parzen_baselines)
    elif args.command == "figure1":
        from .toy1d import figure1

        figure1(config, args.out_pdf, args.out_json)
    elif args.command == "methods":
        from .methods import write_methods

        write_methods(config, args.out)
    elif args.command == "readme":
        from .readme import update_readme

        update_readme(args.readme, args.results_dir)
    elif args.command == "bench":
        from .bench import bench

        if args.quick:
            args.steps, args.warmup, args.parzen_centres, args.parzen_points = 8, 2, 2000, 200
        bench(config, args.models, args.seeds, args.steps, args.warmup, (args.parzen_centres, args.parzen_points),
              args.out_dir)
    elif args.command == "bench-parzen":
        from .bench import bench_parzen

        bench_parzen(args.centres, args.points, args.dim, args.sigmas, args.block_size, args.device, out=args.out)
    elif args.command == "publish-weights":
        from .publish import publish_weights

        entries = publish_weights(args.results_dir, args.work_dir)
        print(f"published {len(entries)} generator file(s) under {args.results_dir}/weights/")
    elif args.command == "rescore":
        from .publish import rescore

        rescore(args.results_dir, args.out_dir)
    elif args.command == "lease-prepare":
        from .data import resolve_data_dir
        from .fidelity import resolve_weights
        from .lease import prepare

        weights = resolve_weights(config["fid"]["weights_path"])
        if weights is None:
            raise GanStudyError("lease-prepare needs the Inception weights file: set $GAN_STUDY_INCEPTION_WEIGHTS")
        manifest = prepare(resolve_data_dir(config["data_dir"]), weights, args.out, wheels=not args.no_wheels)
        print(f"{len(manifest['files'])} files in carries under {args.out}/ (carry one folder per call)")
    elif args.command == "lease-run":
        from .lease import lease_run

        lease_run(args.carry, args.out, args.deadline_s, args.profile, args.configfile, args.targets, args.bench)
    elif args.command == "report":
        from .report import build_report

        build_report(args.results_dir, args.out)


def main(argv=None):
    args = build_parser().parse_args(argv)
    try:
        dispatch(args)
    except GanStudyError as err:
        print(f"gan-study: error: {err}", file=sys.stderr)
        return 2
    return 0
