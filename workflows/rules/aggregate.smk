# Per-seed and per-cell tables (CSV), Table 1 and the LaTeX macros a thesis can \input.


rule aggregate:
    input:
        parzen=run_files(f"{RESULTS}/runs/{RUN}/parzen.json"),
        train=run_files(f"{RESULTS}/runs/{RUN}/train.json"),
        fid=run_files(f"{RESULTS}/runs/{RUN}/fid.json") if config["fid"]["enabled"] else [],
        fid_curves=run_files(f"{RESULTS}/runs/{RUN}/fid_curve.json", CURVE_RUNS),
        parzen_curves=run_files(f"{RESULTS}/runs/{RUN}/parzen_curve.json", PARZEN_CURVE_RUNS),
        baselines=(
            expand(f"{RESULTS}/parzen_baselines/{{dataset}}.json", dataset=DATASETS)
            if config["parzen_baselines"]["enabled"]
            else []
        ),
    output:
        runs=f"{RESULTS}/parzen_runs.csv",
        summary=f"{RESULTS}/parzen_summary.csv",
        table1=f"{RESULTS}/tables/table1.tex",
        parzen_all=f"{RESULTS}/tables/parzen_all.tex",
        provenance=f"{RESULTS}/tables/provenance.tex",
        fid_table=f"{RESULTS}/tables/fid.tex",
        macros=f"{RESULTS}/macros.tex",
        config=f"{RESULTS}/config.json",
        parzen_curves=PARZEN_CURVES_CSV,
        baselines=BASELINES_CSV,
        fid_tables=FID_CSVS,
        fid_curves=FID_CURVES_CSV,
    params:
        cli=GAN_STUDY,
        out_dir=lambda w, output: os.path.dirname(output.runs),
    log:
        f"{LOGS}/aggregate.log",
    conda:
        "../envs/gan_study.yaml"
    shell:
        "{params.cli} aggregate --parzen {input.parzen} --train {input.train} --fid {input.fid} --baselines {input.baselines} --fid-curves {input.fid_curves} --parzen-curves {input.parzen_curves} --out-dir {params.out_dir} > {log} 2>&1"
