# Figures, the generated methods section, and the PDF (latexmk).


rule figures:
    input:
        logs=run_files(f"{RESULTS}/runs/{RUN}/train_log.csv"),
        grids=run_files(f"{RESULTS}/runs/{RUN}/samples.png"),
    output:
        curves=f"{RESULTS}/figures/training_curves.pdf",
        tex=f"{RESULTS}/figures/figures.tex",
    params:
        out_dir=f"{RESULTS}/figures",
    log:
        f"{LOGS}/figures.log",
    conda:
        "../envs/gan_study.yaml"
    shell:
        "{GAN_STUDY} figures --train-logs {input.logs} --grids {input.grids} --out-dir {params.out_dir} > {log} 2>&1"


rule methods:
    output:
        f"{RESULTS}/methods.tex",
    params:
        settings=config_digest(),
    log:
        f"{LOGS}/methods.log",
    conda:
        "../envs/gan_study.yaml"
    shell:
        "{GAN_STUDY} methods --out {output} > {log} 2>&1"


rule report:
    input:
        rules.aggregate.output,
        rules.figures.output,
        rules.methods.output,
        tex="report/gan_study.tex",
        bib="report/references.bib",
    output:
        REPORT_PDF,
    params:
        results=RESULTS,
    log:
        f"{LOGS}/report.log",
    conda:
        "../envs/gan_study.yaml"
    shell:
        "{GAN_STUDY} report --results-dir {params.results} --out {output} > {log} 2>&1"
