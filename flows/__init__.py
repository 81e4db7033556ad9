"""Prefect flows over the plain jobs of `pipelines/`: what runs on a schedule, and in what order.

Each flow is a thin shell: the work (sync, drain, transform, push, report) stays in plain functions
the CLI calls too, so it is tested without Prefect. The flows add retries on I/O, bounded realm
parallelism, the warehouse's single-writer slot across processes (`flows.writer`) and progress in the
run logs. Deployments and their schedules are in prefect.yaml; `qbo schedule` serves them all.
Nothing is imported here, so `flows.cli` stays light for the `qbo` command line.
"""
