# Figures, the generated methods section, and the PDF (latexmk).


rule figures:
    input:
        logs=run_files(f"{RESULTS}/runs/{RUN}/train_log.csv"),
        grids=run_files(f"{RESULTS}/runs/{RUN}/samples.png"),
    output:
        curves=f"{RESULTS}/figures/training_curves.pdf",
        tex=f"{RESULTS}/figures/figures.tex",
    params:
        cli=GAN_STUDY,
        out_dir=lambda w, output: os.path.dirname(output.tex),
    log:
        f"{LOGS}/figures.log",
    conda:
        "../envs/gan_study.yaml"
    shell:
        "{params.cli} figures --train-logs {input.logs} --grids {input.grids} --out-dir {params.out_dir} > {log} 2>&1"


rule methods:
    output:
        f"{RESULTS}/methods.tex",
    params:
        cli=GAN_STUDY,
        settings=config_digest(),
    log:
        f"{LOGS}/methods.log",
    conda:
        "../envs/gan_study.yaml"
    shell:
        "{params.cli} methods --out {output} > {log} 2>&1"


rule report:
    input:
        rules.aggregate.output,
        rules.figures.output,
        methods=rules.methods.output[0],
        tex="report/gan_study.tex",
        bib="report/references.bib",
    output:
        REPORT_PDF,
    params:
        cli=GAN_STUDY,
        results=lambda w, input: os.path.dirname(input.methods),
    log:
        f"{LOGS}/report.log",
    conda:
        "../envs/gan_study.yaml"
    shell:
        "{params.cli} report --results-dir {params.results} --out {output} > {log} 2>&1"
