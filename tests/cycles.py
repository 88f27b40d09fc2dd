"""Driving the real jobs through one pass of the pipeline, as the tests need it."""

from __future__ import annotations

from connector.pipeline.context import PipelineContext
from connector.pipeline.runner import run_job
from connector.simulators.server import SimServer

import simctl


def until_in_work(ctx: PipelineContext, onec: SimServer) -> None:
    """Pull, register, executors assigned in 1С, track, push «Назначен исполнитель»."""
    run_job(ctx, "pull")
    run_job(ctx, "register")
    simctl.onec_act(onec, action="auto", assign=True, answer=False)
    run_job(ctx, "track")
    run_job(ctx, "push")


def answer_all(ctx: PipelineContext, onec: SimServer) -> None:
    """Executors answer in 1С; track, push the answers, pull POS's confirmation."""
    simctl.onec_act(onec, action="auto", assign=True, answer=True)
    run_job(ctx, "track")
    run_job(ctx, "push")
    run_job(ctx, "pull")


def quick(ctx: PipelineContext, onec: SimServer) -> None:
    """Pull, register, assign and answer at once, track, push, pull."""
    for job in ("pull", "register"):
        run_job(ctx, job)
    simctl.onec_act(onec, action="auto", assign=True, answer=True)
    for job in ("track", "push", "pull"):
        run_job(ctx, job)
