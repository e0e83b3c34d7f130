"""Packaging beyond what pyproject.toml can say: ship the repository's conf/ as ``leadlake.conf``.

``conf/`` stays at the top of the repository (where people look for it) and
becomes package data of the wheel, so an installed leadlake (a Databricks
library, ``pip install leadlake-*.whl``) finds its defaults without the checkout.
"""

from setuptools import find_packages, setup

setup(
    packages=[*find_packages(include=["leadlake", "leadlake.*", "udfs", "udfs.*"]), "leadlake.conf",
              "leadlake.conf.spark"],
    package_dir={"leadlake.conf": "conf", "leadlake.conf.spark": "conf/spark"},
    package_data={"leadlake.conf": ["*.yaml", "*.properties"], "leadlake.conf.spark": ["*.yaml"],
                  "leadlake.needs": ["data/*.tsv"]},
)
