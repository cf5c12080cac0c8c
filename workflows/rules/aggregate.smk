# Per-seed and per-cell tables (CSV), Table 1 and the LaTeX macros a thesis can \input.


rule aggregate:
    input:
        parzen=run_files(f"{RESULTS}/runs/{RUN}/parzen.json"),
        train=run_files(f"{RESULTS}/runs/{RUN}/train.json"),
        train_logs=run_files(f"{RESULTS}/runs/{RUN}/train_log.csv"),
        fid=run_files(f"{RESULTS}/runs/{RUN}/fid.json") if config["fid"]["enabled"] else [],
        fid_curves=run_files(f"{RESULTS}/runs/{RUN}/fid_curve.json", CURVE_RUNS),
        parzen_curves=run_files(f"{RESULTS}/runs/{RUN}/parzen_curve.json", PARZEN_CURVE_RUNS),
        baselines=(
            expand(f"{RESULTS}/parzen_baselines/{{dataset}}.json", dataset=DATASETS)
            if config["parzen_baselines"]["enabled"]
            else []
        ),
    output:
        runs=report(f"{RESULTS}/parzen_runs.csv", caption="../report/parzen_runs.rst", category="Tables"),
        summary=report(f"{RESULTS}/parzen_summary.csv", caption="../report/parzen_summary.rst", category="Tables"),
        table1=f"{RESULTS}/tables/table1.tex",
        parzen_all=f"{RESULTS}/tables/parzen_all.tex",
        provenance=f"{RESULTS}/tables/provenance.tex",
        fid_table=f"{RESULTS}/tables/fid.tex",
        macros=f"{RESULTS}/macros.tex",
        config=f"{RESULTS}/config.json",
        parzen_curves=[report(p, caption="../report/parzen_curves.rst", category="Tables") for p in PARZEN_CURVES_CSV],
        baselines=BASELINES_CSV,
        fid_tables=FID_CSVS[:1]
        + [report(p, caption="../report/fid_summary.rst", category="Tables") for p in FID_CSVS[1:]],
        fid_curves=FID_CURVES_CSV,
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
    shell:
        "{params.cli} aggregate --parzen {input.parzen} --train {input.train} --train-logs {input.train_logs} --fid {input.fid} --baselines {input.baselines} --fid-curves {input.fid_curves} --parzen-curves {input.parzen_curves} --out-dir {params.out_dir} > {log} 2>&1"
