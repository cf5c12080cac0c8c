# gan-study: the replication DAG. data → train (model × dataset × seed) → sample → Parzen → aggregate →
# figures → report PDF. Rules are thin shells over `python -m gan_study <command>`; the logic is in gan_study/.
#
#   snakemake --cores 2 --profile workflows/profiles/smoke    # the whole study in minutes on a CPU
#   snakemake --cores 8 --profile workflows/profiles/paper    # the paper protocol, on a GPU
import sys

from snakemake.utils import min_version, validate

min_version("8.0")


configfile: "workflows/config/config.yaml"


# The package's validator first: one line naming the offending key (Snakemake's own prints the whole schema).
sys.path.insert(0, workflow.basedir)
from gan_study.config import check_config_files, validate as check_config
from gan_study.errors import GanStudyError
from gan_study.report import warn_if_tex_missing

try:
    check_config_files(workflow.configfiles)
    check_config(config)
except GanStudyError as err:
    sys.exit(f"gan-study: error: {err}")
validate(config, "workflows/config/schema.yaml")
warn_if_tex_missing()


report: "workflows/report/workflow.rst"


include: "workflows/rules/common.smk"


wildcard_constraints:
    model="[a-z0-9_]+",
    dataset="[a-z0-9_]+",
    seed=r"\d+",


include: "workflows/rules/train.smk"
include: "workflows/rules/evaluate.smk"
include: "workflows/rules/aggregate.smk"
include: "workflows/rules/report.smk"


rule all:
    default_target: True
    input:
        REPORT_PDF,
