"""Graders: collect facts from live lab nodes over SSH, check them, and prove HA with fault checks.

The pure core (grade.py, facts.py, checks.py, report.py, evidence.py, provenance.py, collectors/ and each
kind's checks) judges recorded facts and never touches a lab; the live side (collect.py, faults.py, live.py
and each kind's faults.py) does. Each sub-package but collectors/ is a lab kind (halab/spec/kinds.py).
"""
