# Figures, the generated methods section, and the PDF (latexmk).


rule figures:
    input:
        logs=run_files(f"{RESULTS}/runs/{RUN}/train_log.csv"),
        grids=run_files(f"{RESULTS}/runs/{RUN}/samples.png"),
        nearest=run_files(f"{RESULTS}/runs/{RUN}/nearest.png"),
        interpolation=run_files(f"{RESULTS}/runs/{RUN}/interpolation.png"),
        parzen_runs=rules.aggregate.output.runs,
        parzen_curves=PARZEN_CURVES_CSV,
        parzen_baselines=BASELINES_CSV,
        fid_tables=FID_CSVS,
        fid_curves=FID_CURVES_CSV,
        curves_from=CURVES_FROM_FILES,
        paired_seeds=rules.aggregate.output.paired_seeds,
        paired_summary=rules.aggregate.output.paired_summary,
    output:
        curves=report(f"{RESULTS}/figures/training_curves.pdf", caption="../report/figures.rst", category="Figures"),
        seeds=report(f"{RESULTS}/figures/seeds.pdf", caption="../report/figures.rst", category="Figures"),
        separation=report(f"{RESULTS}/figures/separation.pdf", caption="../report/figures.rst", category="Figures"),
        tex=f"{RESULTS}/figures/figures.tex",
        fid_curves=[
            report(p, caption="../report/figures.rst", category="Figures")
            for p in ([f"{RESULTS}/figures/fid_curves.pdf"] if FID_CURVES else [])
        ],
        parzen_curves=[
            report(p, caption="../report/figures.rst", category="Figures")
            for p in ([f"{RESULTS}/figures/parzen_curves.pdf"] if PARZEN_CURVE_RUNS or CURVES_FROM else [])
        ],
        paired=[
            report(p, caption="../report/figures.rst", category="Figures")
            for p in ([f"{RESULTS}/figures/paired.pdf"] if PAIRED_WITH else [])
        ],
    log:
        f"{LOGS}/figures.log",
    conda:
        "../envs/gan_study.yaml"
    resources:
        mem_mb=MEM_MB["light"],
        runtime=RUNTIME_MIN["light"],
    params:
        cli=GAN_STUDY,
        out_dir=lambda w, output: os.path.dirname(output.tex),
        fid_runs=lambda w, input: f"--fid-runs {input.fid_tables[0]}" if input.fid_tables else "",
        fid_curves=lambda w, input: f"--fid-curves {input.fid_curves}" if input.fid_curves else "",
        parzen_curves=lambda w, input: (f"--parzen-curves {input.parzen_curves}" if input.parzen_curves else ""),
        baselines=lambda w, input: (f"--parzen-baselines {input.parzen_baselines}" if input.parzen_baselines else ""),
        curves_from=f"--curves-from {' '.join(map(shlex.quote, CURVES_FROM))}" if CURVES_FROM else "",
        paired=lambda w, input: (f"--paired {input.paired_seeds} {input.paired_summary}" if input.paired_seeds else ""),
    shell:
        "{params.cli} figures --train-logs {input.logs} --grids {input.grids} --parzen-runs {input.parzen_runs} "
        "{params.fid_runs} {params.fid_curves} {params.parzen_curves} {params.baselines} {params.curves_from} "
        "{params.paired} --out-dir {params.out_dir} > {log} 2>&1"


rule figure1:
    output:
        pdf=f"{RESULTS}/figures/figure1.pdf",
        json=f"{RESULTS}/figures/figure1.json",
        tex=f"{RESULTS}/figures/figure1.tex",
    log:
        f"{LOGS}/figure1.log",
    conda:
        "../envs/gan_study.yaml"
    threads: 1
    resources:
        mem_mb=MEM_MB["light"],
        runtime=RUNTIME_MIN["light"],
    params:
        cli=GAN_STUDY,
        settings=config_digest("figure1"),
    shell:
        "OMP_NUM_THREADS={threads} {params.cli} figure1 --out-pdf {output.pdf} --out-json {output.json} > {log} 2>&1"


# The results' resolved config as input: a study whose config grew (more seeds, another cell) re-aggregates, and its
# methods follow, also in a fresh clone, where Snakemake holds no record of the params below to compare against.
rule methods:
    input:
        rules.aggregate.output.config,
    output:
        f"{RESULTS}/methods.tex",
    log:
        f"{LOGS}/methods.log",
    conda:
        "../envs/gan_study.yaml"
    resources:
        mem_mb=MEM_MB["light"],
        runtime=RUNTIME_MIN["light"],
    params:
        cli=GAN_STUDY,
        settings=config_digest(),
    shell:
        "{params.cli} methods --out {output} > {log} 2>&1"


rule report:
    input:
        rules.aggregate.output,
        rules.figures.output,
        methods=rules.methods.output[0],
        figure1=rules.figure1.output.tex,
        tex="report/gan_study.tex",
        bib="report/references.bib",
    output:
        report(REPORT_PDF, caption="../report/pdf.rst", category="Report"),
    log:
        f"{LOGS}/report.log",
    conda:
        "../envs/gan_study.yaml"
    resources:
        mem_mb=MEM_MB["light"],
        runtime=RUNTIME_MIN["light"],
    params:
        cli=GAN_STUDY,
        results=lambda w, input: os.path.dirname(input.methods),
    shell:
        "{params.cli} report --results-dir {params.results} --out {output} > {log} 2>&1"
