# Per-seed and per-cell tables (CSV), Table 1, each metric's table and the LaTeX macros a thesis can \input.


rule aggregate:
    input:
        **{m.name: run_files(f"{RESULTS}/runs/{RUN}/{m.file}", METRIC_RUNS[m.name]) for m in METRICS},
        train=run_files(f"{RESULTS}/runs/{RUN}/train.json"),
        train_logs=run_files(f"{RESULTS}/runs/{RUN}/train_log.csv"),
        baselines=(
            expand(f"{RESULTS}/parzen_baselines/{{dataset}}.json", dataset=DATASETS)
            if config["parzen_baselines"]["enabled"]
            else []
        ),
        paired_with=PAIRED_WITH_FILES,
    output:
        runs=report(f"{RESULTS}/parzen_runs.csv", caption="../report/parzen_runs.rst", category="Tables"),
        summary=report(f"{RESULTS}/parzen_summary.csv", caption="../report/parzen_summary.rst", category="Tables"),
        table1=f"{RESULTS}/tables/table1.tex",
        parzen_all=f"{RESULTS}/tables/parzen_all.tex",
        provenance=f"{RESULTS}/tables/provenance.tex",
        metric_tables=f"{RESULTS}/tables/metrics.tex",
        macros=f"{RESULTS}/macros.tex",
        config=f"{RESULTS}/config.json",
        parzen_curves=[report(p, caption="../report/parzen_curves.rst", category="Tables") for p in PARZEN_CURVES_CSV],
        baselines=BASELINES_CSV,
        metric_outputs=[path for metric in METRICS for path in metric_outputs(metric)],
        paired_seeds=PAIRED_SEEDS_CSV,
        paired_summary=PAIRED_SUMMARY_CSV,
        paired_table=PAIRED_TEX,
    log:
        f"{LOGS}/aggregate.log",
    conda:
        "../envs/gan_study.yaml"
    resources:
        mem_mb=MEM_MB["light"],
        runtime=RUNTIME_MIN["light"],
    params:
        cli=GAN_STUDY,
        out_dir=lambda w, output: os.path.dirname(output.runs),
        collapse_rule=config_digest("collapse"),
        paired_with=f"--paired-with {' '.join(map(shlex.quote, PAIRED_WITH))}" if PAIRED_WITH else "",
    shell:
        "{params.cli} aggregate --train {input.train} --train-logs {input.train_logs} --baselines {input.baselines} "
        + " ".join(f"--{m.name.replace('_', '-')} {{input.{m.name}}}" for m in METRICS)
        + " {params.paired_with} --out-dir {params.out_dir} > {log} 2>&1"
